// Audit log: who did what to accounts and keys (the gateway's audit table), newest first, filtered, paged.

import { callIfAvailable } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { when } from "../format.js";
import { auditTabs, errorBox, field, table, unavailable } from "../views.js";

const PAGE = 50;
// The gateway's AuditEvent values, for the filter; the table shows whatever the API sends.
const EVENTS = [
  "user_registered", "login_succeeded", "login_failed", "refresh_token_reused", "password_reset_requested", "password_reset",
  "profile_updated", "key_created", "key_updated", "key_rotated", "key_revoked", "rate_limits_set", "rate_limits_cleared",
  "user_updated", "user_deleted", "admin_auth_failed",
];

const link = (userId) => (userId ? h("a", { href: `#/admin/accounts?user=${encodeURIComponent(userId)}` }, userId) : "—");
const details = (detail) => Object.entries(detail || {}).map(([name, value]) => `${name}=${value}`).join(", ");

const COLUMNS = [
  { label: "when", value: (e) => h("span", { class: "nowrap" }, when(e.at)) },
  { label: "event", value: (e) => h("span", { class: "nowrap" }, e.event) },
  { label: "actor", value: (e) => e.actor },
  { label: "user", value: (e) => link(e.user_id) },
  { label: "key", value: (e) => (e.api_key_id ? h("code", { class: "nowrap" }, e.api_key_id) : "—") },
  { label: "detail", value: (e) => details(e.detail) },
];

export function render({ params }) {
  const region = h("div");
  let filters = { user_id: params.get("user") || "", event: "" };
  let rows = [];

  async function load(cursor) {
    if (!cursor) replace(region, h("p", { class: "muted" }, "Loading the audit log…"));
    let page;
    try {
      page = await callIfAvailable(routes.audit, { as: "admin", query: { ...filters, limit: PAGE, cursor } });
    } catch (error) {
      replace(region, errorBox(error));
      return;
    }
    if (page === null) {
      replace(region, unavailable("The audit log", "It needs the gateway's GET /admin/v1/audit route; its rows are in the audit_log table meanwhile."));
      return;
    }
    rows = cursor ? rows.concat(page.data) : page.data;
    const filtered = filters.user_id || filters.event;
    replace(region,
      table(filtered ? "Audit entries matching the filters" : "Audit entries, newest first", COLUMNS, rows, { testid: "audit",
        empty: filtered
          ? "No entry matches. Clear a filter, or check the user id (usr_…): entries appear when an account or key changes."
          : "Nothing audited yet. Sign-ups, logins, key and limit changes and operators' edits of users are recorded here as they happen." }),
      page.has_more ? h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => load(page.next_cursor) }, "Load older entries")) : null);
  }

  const user = field("User id", { name: "user_id", autocomplete: "off", spellcheck: "false", placeholder: "usr_…", size: 30, value: filters.user_id });
  const event = h("select", { id: "audit-event", name: "event" }, h("option", { value: "" }, "any"), EVENTS.map((name) => h("option", { value: name }, name)));
  const form = h("form", { class: "inline filters", "aria-label": "Filter the audit log" }, user,
    h("div", { class: "field" }, h("label", { for: "audit-event" }, "Event"), event),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    filters = { user_id: String(data.get("user_id") || "").trim(), event: String(data.get("event") || "") };
    load();
  });
  load();
  return { node: h("div", {}, auditTabs("gateway"),
    h("p", {}, "Account and key events recorded by the gateway. Credit grants, adjustments, refunds and coupons are in ",
      h("a", { href: "#/admin/billing-audit" }, "billing's audit trail"), "."),
    form, region) };
}
