// Bulk grants: one amount to up to 100 accounts in one ledger transaction (billing's /grants/bulk), account by account.

import { ApiError, call, idempotencyKey } from "../api.js";
import { h, uid } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, dollarsToMicros, usdMicros } from "../format.js";
import { badge, cards, field, submitting, table } from "../views.js";

const MAX = 100; // billing's limit per request
const TONE = { success: "ok", partial: "warn", failed: "bad" };

const userIds = (text) => [...new Set(String(text).split(/[\s,;]+/).filter(Boolean))];

function idsField() {
  const id = uid("f");
  return h("div", { class: "field" }, h("label", { for: id }, "User ids"),
    h("span", { class: "hint", id: `${id}-hint` }, `One per line, or separated by commas or spaces; up to ${MAX}. Ids (usr_…) are on Accounts and credit.`),
    h("textarea", { id, name: "user_ids", required: true, rows: 6, spellcheck: "false", autocomplete: "off", "aria-describedby": `${id}-hint` }));
}

function outcome(result, key) {
  return h("section", { class: "panel", "data-testid": "bulk-result" },
    h("h2", {}, "Result"),
    h("p", { role: "status" }, "Bulk grant: ", h("span", { "data-testid": "bulk-status" }, badge(result.status, TONE[result.status] || "warn")),
      ` ${count(result.succeeded)} of ${count(result.unique)} accounts credited`,
      result.requested > result.unique ? ` (${count(result.requested - result.unique)} listed twice, credited once).` : "."),
    cards([
      ["Accounts", count(result.unique), undefined],
      ["Credited", count(result.succeeded), undefined],
      ["Failed", count(result.failed), undefined],
      ["Total credit", usdMicros(result.total_micros), undefined],
    ]),
    table("Per account", [
      { label: "user", value: (r) => h("a", { href: `#/admin/accounts?user=${encodeURIComponent(r.user_id)}` }, r.user_id) },
      { label: "result", value: (r) => badge(r.status, r.status === "granted" ? "ok" : "bad") },
      { label: "balance after", value: (r) => (r.balance_after_micros == null ? "—" : usdMicros(r.balance_after_micros)), num: true },
      { label: "transaction", value: (r) => (r.transaction_id ? h("code", {}, r.transaction_id) : "—") },
      { label: "why not", value: (r) => r.error_message || "" },
    ], result.results, { testid: "bulk-results" }),
    h("p", { class: "muted" }, "Idempotency-Key ", h("code", {}, key), ": sending this same grant again with it credits no one twice."));
}

export function render() {
  const out = h("div");
  const preview = h("p", { class: "hint", "aria-live": "polite", "data-testid": "bulk-preview" });
  // One key per grant: kept while a failed send is retried unchanged, renewed when the form changes or the grant lands.
  let key = idempotencyKey();
  const form = h("form", { "aria-label": "Grant credit to many accounts" },
    idsField(),
    field("Amount per account (USD)", { name: "amount", required: true, inputmode: "decimal", autocomplete: "off" }, "Up to six decimals, e.g. 5 or 2.50; one grant's cap applies to each account."),
    field("Description", { name: "description", required: true, maxlength: 200, autocomplete: "off" }, "Why, for the ledger and each user's statement."),
    preview,
    h("button", { type: "submit" }, "Grant to every account"));

  function describe() {
    const data = new FormData(form);
    const n = userIds(data.get("user_ids")).length;
    const micros = dollarsToMicros(String(data.get("amount") || ""));
    preview.textContent = n && micros
      ? `${count(n)} account${n === 1 ? "" : "s"} × ${usdMicros(micros)} = ${usdMicros(n * micros)}`
      : "Enter the user ids and an amount to see the total.";
  }
  form.addEventListener("input", () => {
    key = idempotencyKey();
    describe();
  });
  describe();

  submitting(form, out, async (data) => {
    const ids = userIds(data.get("user_ids"));
    const micros = dollarsToMicros(String(data.get("amount")));
    if (ids.length === 0 || ids.length > MAX) throw new ApiError(400, { error: { message: `List between 1 and ${MAX} user ids (${ids.length} given).` } });
    if (!micros) throw new ApiError(400, { error: { message: "Enter a positive amount in dollars, e.g. 5 or 2.50." } });
    const sent = key;
    const result = await call(routes.bulkGrants, { as: "admin", method: "POST", headers: { "idempotency-key": sent },
      body: { user_ids: ids, amount_micros: micros, description: String(data.get("description")).trim() } });
    key = idempotencyKey();
    return outcome(result, sent);
  });

  return { node: h("div", {},
    h("p", {}, "Credit many accounts at once, e.g. after an outage. All grants are one ledger transaction; an account that cannot take its grant (the daily operator limit) is listed as failed and the others still get theirs. ",
      "One account's grant, refund or statement: ", h("a", { href: "#/admin/accounts" }, "Accounts and credit"), "."),
    h("section", { class: "panel" }, form), out) };
}
