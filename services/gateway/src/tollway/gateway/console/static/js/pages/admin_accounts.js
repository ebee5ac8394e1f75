// Accounts and credit: find a user (search when the deployment has it, else by id), see keys and usage, grant or refund.

import { ApiError, call, callIfAvailable, idempotencyKey } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, dollarsToMicros, usd, usdMicros, when } from "../format.js";
import { badge, cards, emptyState, errorBox, field, submitting, table } from "../views.js";

const AS = { as: "admin" };

function grantForm(user) {
  const out = h("div");
  let key = idempotencyKey(); // kept across retries of one grant, renewed after it lands
  const form = submitting(
    h("form", { "aria-label": "Grant credit" },
      field("Amount (USD)", { name: "amount", required: true, inputmode: "decimal", autocomplete: "off", oninput: () => { key = idempotencyKey(); } }, "Up to six decimals, e.g. 10 or 2.50."),
      field("Description", { name: "description", maxlength: 200, autocomplete: "off" }, "Why, for the ledger and the user's statement."),
      h("button", { type: "submit" }, "Grant credit")),
    out,
    async (data) => {
      const micros = dollarsToMicros(String(data.get("amount")));
      if (!micros) throw new ApiError(400, { error: { message: "Enter a positive amount in dollars, e.g. 10 or 2.50." } });
      const txn = await call(routes.adminGrant(user.id), { ...AS, method: "POST", headers: { "idempotency-key": key },
        body: { amount_micros: micros, description: String(data.get("description") || "") } });
      key = idempotencyKey();
      return h("div", { class: "success", role: "status", "data-testid": "grant-result" },
        `Granted ${usd(txn.amount_usd)}. New balance ${usdMicros(txn.balance_after_micros)} (transaction `, h("code", {}, txn.id), ").");
    },
  );
  return h("section", { class: "panel" }, h("h2", {}, "Grant credit"), form, out);
}

function refundForm() {
  const out = h("div");
  const key = { value: idempotencyKey() };
  const form = submitting(
    h("form", { "aria-label": "Refund a request's charge" },
      field("Usage transaction id", { name: "txn", required: true, autocomplete: "off", oninput: () => { key.value = idempotencyKey(); } }, "From the user's transactions (type debit)."),
      field("Amount (USD, optional)", { name: "amount", inputmode: "decimal", autocomplete: "off" }, "Empty refunds the whole charge."),
      field("Reason", { name: "reason", maxlength: 200, autocomplete: "off" }),
      h("button", { type: "submit" }, "Refund")),
    out,
    async (data) => {
      const body = { reason: String(data.get("reason") || "") };
      const amount = String(data.get("amount") || "").trim();
      if (amount) body.amount_micros = dollarsToMicros(amount);
      const txn = await call(routes.adminRefund(String(data.get("txn")).trim()), { ...AS, method: "POST", headers: { "idempotency-key": key.value }, body });
      key.value = idempotencyKey();
      return `Refunded ${usd(txn.amount_usd)}; balance now ${usdMicros(txn.balance_after_micros)}.`;
    },
  );
  return h("section", { class: "panel" }, h("h2", {}, "Refund a charge"), form, out);
}

// The month's statement: opening and closing balance and whether the ledger reconciles (billing's statement route).
async function statement(userId) {
  const month = new Date().toISOString().slice(0, 7);
  const s = await call(routes.statement(userId, month), AS).catch(() => null);
  if (!s) return null;
  return h("section", { class: "panel", "data-testid": "statement" }, h("h2", {}, `Statement ${month}`),
    cards([["Opening", usdMicros(s.opening_balance_micros), undefined], ["Credits", usdMicros(s.credits_micros), undefined],
      ["Debits", usdMicros(s.debits_micros), undefined], ["Closing", usdMicros(s.closing_balance_micros), undefined]]),
    h("p", {}, s.reconciled ? badge("reconciled", "ok") : badge("does not reconcile", "bad"),
      " opening + credits + debits = closing, over every transaction of the month."));
}

function activeToggle(region, user) {
  const next = user.is_active === false;
  const button = h("button", { type: "button", class: next ? undefined : "danger" }, next ? "Reactivate user" : "Deactivate user");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call(routes.adminUser(user.id), { ...AS, method: "PATCH", body: { is_active: next } });
      await detail(region, user.id);
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  });
  return button;
}

async function detail(region, userId) {
  replace(region, h("p", { class: "muted" }, "Loading…"));
  let found;
  try {
    found = await call(routes.adminUserDetail(userId), AS);
  } catch (error) {
    replace(region, error instanceof ApiError && error.status === 404 ? emptyState("No such user", `No user has the id ${userId}. User ids look like usr_…; check the spelling.`) : errorBox(error));
    return;
  }
  const user = found.user;
  const [usage, month] = await Promise.all([
    call(routes.adminUsage, { ...AS, query: { user_id: user.id } }).catch(() => null),
    statement(user.id),
  ]);
  replace(region,
    h("section", { class: "panel", "data-testid": "user-detail" },
      h("h2", {}, user.email || user.display_name || user.id),
      h("p", {}, h("code", {}, user.id), " · ", user.is_active === false ? badge("inactive", "bad") : badge("active", "ok"),
        ` · role ${user.role || "user"} · created ${when(user.created_at)} · `,
        h("a", { href: `#/admin/audit?user=${encodeURIComponent(user.id)}` }, "audit log"), " ", activeToggle(region, user)),
      usage ? cards([["Requests (7 days)", count(usage.totals.requests)], ["Spend (7 days)", usd(usage.totals.cost_usd)], ["Tokens (7 days)", count(usage.totals.total_tokens)]]) : null,
      table("API keys", [
        { label: "name", value: (k) => k.name || "(unnamed)" },
        { label: "key", value: (k) => h("code", {}, `${k.display_prefix || ""}…`) },
        { label: "scopes", value: (k) => (k.scopes || []).join(", ") },
        { label: "status", value: (k) => (k.revoked_at ? badge("revoked", "bad") : badge("active", "ok")) },
        { label: "last used", value: (k) => when(k.last_used_at) },
      ], found.api_keys || [], { empty: "This user has no API keys." })),
    month,
    h("div", { class: "grid2" }, grantForm(user), refundForm()));
}

async function search(results, region, text) {
  if (/^usr_/.test(text)) {
    replace(results);
    await detail(region, text);
    return;
  }
  const list = await callIfAvailable(routes.adminUsers, { ...AS, query: { q: text, limit: 20 } });
  if (list === null) {
    replace(results, emptyState("Search by email is not available on this deployment",
      "Paste the user's id (usr_…) instead: it is in gateway.user.registered.v1 events and in usage rows."));
    return;
  }
  const users = list.data || [];
  if (users.length === 1) detail(region, users[0].id); // one match: straight to it
  replace(results, table("Matching users", [
    { label: "email", value: (u) => u.email || "—" },
    { label: "id", value: (u) => h("code", {}, u.id) },
    { label: "state", value: (u) => (u.is_active === false ? badge("inactive", "bad") : badge("active", "ok")) },
    { label: "created", value: (u) => when(u.created_at) },
    { label: "", value: (u) => h("button", { type: "button", class: "secondary", "aria-label": `Open ${u.email || u.id}`, onclick: () => detail(region, u.id) }, "Open") },
  ], users, { testid: "user-matches", empty: "No user matches. Search by email or paste a user id (usr_…)." }));
}

export function render({ params }) {
  const results = h("div");
  const region = h("div");
  const out = h("div");
  const form = submitting(
    h("form", { class: "inline", role: "search", "aria-label": "Find a user" },
      field("User id or email", { name: "q", required: true, autocomplete: "off", spellcheck: "false" }, "Part of an email, or a user id (usr_…)."),
      h("button", { type: "submit" }, "Find")),
    out,
    async (data) => {
      await search(results, region, String(data.get("q")).trim());
      return null;
    },
  );
  if (params.get("user")) detail(region, params.get("user"));
  return { node: h("div", {}, h("section", { class: "panel" }, form, out), results, region) };
}
