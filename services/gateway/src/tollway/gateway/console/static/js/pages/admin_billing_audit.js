// Billing audit: which operator granted, adjusted, refunded or made a coupon (billing's audit trail), newest first.

import { callIfAvailable } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { usdMicros, when } from "../format.js";
import { auditTabs, errorBox, field, table, unavailable } from "../views.js";

const PAGE = 50;
const ACTIONS = [
  ["grant", "grant"], ["bulk_grant", "bulk grant"], ["adjustment", "adjustment"], ["refund", "refund"], ["coupon_created", "coupon created"],
];
const LABEL = Object.fromEntries(ACTIONS);

const userLink = (id) => (id ? h("a", { class: "mono", href: `#/admin/accounts?user=${encodeURIComponent(id)}` }, id) : "—");
// The operator's description, the row's id (a transaction or a coupon), then what ties it to its request, one per line.
const details = (e) => h("div", { class: "detail" }, e.description ? h("span", {}, e.description) : null, h("code", {}, e.id),
  Object.entries(e.detail || {}).filter(([, v]) => v !== null).map(([name, value]) => h("span", { class: "muted" }, `${name}: ${value}`)));

const COLUMNS = [
  { label: "when", value: (e) => h("span", { class: "nowrap" }, when(e.at)) },
  { label: "action", value: (e) => h("span", { class: "nowrap" }, LABEL[e.action] || e.action) },
  { label: "operator", value: (e) => h("code", { class: "nowrap" }, e.actor) },
  { label: "user", value: (e) => userLink(e.user_id) },
  { label: "amount", value: (e) => (e.amount_micros === null ? "—" : usdMicros(e.amount_micros)), num: true },
  { label: "what", value: details },
];

// A day typed in a date field -> the instant its UTC day starts (or the next one's, for an inclusive last day).
function dayStart(day, next = false) {
  if (!day) return "";
  const date = new Date(`${day}T00:00:00Z`);
  if (next) date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString();
}

function emptyText(filtered) {
  return filtered
    ? "No operator action matches. Clear a filter; operators appear as the gateway names them (admin-key:…)."
    : "No operator has granted, adjusted, refunded or made a coupon yet. Grant credit on Accounts and credit or Bulk grants, make coupons on Coupons: each lands here.";
}

export function render({ params }) {
  const region = h("div");
  let filters = { user_id: params.get("user") || "", actor: "", action: "", from: "", to: "" };
  let rows = [];

  async function load(cursor) {
    if (!cursor) replace(region, h("p", { class: "muted" }, "Loading the billing audit trail…"));
    const query = { ...filters, from: dayStart(filters.from), to: dayStart(filters.to, true), limit: PAGE, cursor };
    let page;
    try {
      page = await callIfAvailable(routes.billingAudit, { as: "admin", query });
    } catch (error) {
      replace(region, errorBox(error));
      return;
    }
    if (page === null) {
      replace(region, unavailable("The billing audit trail", "It needs billing's GET /admin/v1/billing/audit route; a user's statement on Accounts and credit lists their grants meanwhile."));
      return;
    }
    rows = cursor ? rows.concat(page.data) : page.data;
    const filtered = Object.values(filters).some(Boolean);
    replace(region,
      table(filtered ? "Operator actions matching the filters" : "Operator actions, newest first", COLUMNS, rows, { testid: "billing-audit", empty: emptyText(filtered) }),
      page.has_more ? h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => load(page.next_cursor) }, "Load older entries")) : null);
  }

  const action = h("select", { id: "billing-audit-action", name: "action" }, h("option", { value: "" }, "any"), ACTIONS.map(([value, label]) => h("option", { value }, label)));
  const form = h("form", { class: "inline filters", "aria-label": "Filter the billing audit trail" },
    field("User id", { name: "user_id", autocomplete: "off", spellcheck: "false", placeholder: "usr_…", size: 26, value: filters.user_id }),
    field("Operator", { name: "actor", autocomplete: "off", spellcheck: "false", placeholder: "admin-key:…", size: 22 }),
    h("div", { class: "field" }, h("label", { for: "billing-audit-action" }, "Action"), action),
    field("From", { name: "from", type: "date" }),
    field("To", { name: "to", type: "date" }),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (name) => String(data.get(name) || "").trim();
    filters = { user_id: text("user_id"), actor: text("actor"), action: text("action"), from: text("from"), to: text("to") };
    load();
  });
  load();
  return { node: h("div", {}, auditTabs("billing"),
    h("p", {}, "Credit operators gave or took and coupons they made, as billing's ledger records them, with the operator who did it. Usage debits and trials are no one's action and are left out."),
    form, region) };
}
