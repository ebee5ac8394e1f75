// Credits: balance, trial, the ledger's transactions (newest first), and coupon redemption.

import { ApiError, call, idempotencyKey } from "../api.js";
import { append, h } from "../dom.js";
import { routes } from "../endpoints.js";
import { usd, usdMicros, when } from "../format.js";
import { cards, emptyState, field, live, submitting, table } from "../views.js";

const COLUMNS = [
  { label: "when", value: (t) => when(t.created_at) },
  { label: "type", value: (t) => t.type },
  { label: "amount", value: (t) => usd(t.amount_usd), num: true },
  { label: "balance after", value: (t) => usdMicros(t.balance_after_micros), num: true },
  { label: "description", value: (t) => t.description || "" },
  { label: "reference", value: (t) => h("code", {}, t.reference) },
];

async function overview() {
  const [balance, page] = await Promise.all([call(routes.balance), call(routes.transactions, { query: { limit: 20 } })]);
  const node = h("div", {},
    cards([
      ["Balance", usd(balance.balance_usd), "balance"],
      ["Currency", balance.currency, undefined],
      ["Trial credit expires", balance.trial_expires_at ? when(balance.trial_expires_at) : "no trial credit", undefined],
    ]));
  if (balance.account_id === null) {
    node.append(emptyState("No credit yet", "Billing has not seen this account yet. New accounts get trial credit within seconds; otherwise ask an operator for a grant or redeem a coupon below."));
  }
  const list = h("div");
  append(list, table("Transactions", COLUMNS, page.data, { testid: "transactions", empty: "No transactions yet. Credit grants, coupons and every request's debit appear here." }));
  node.append(list);
  if (page.has_more) node.append(more(list, page.next_cursor));
  return node;
}

// Older pages are appended under the first one; the live refresh redraws only the newest page.
function more(list, cursor) {
  const button = h("button", { type: "button", class: "secondary" }, "Load older transactions");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const page = await call(routes.transactions, { query: { limit: 50, cursor } });
    list.append(table("Older transactions", COLUMNS, page.data));
    if (page.has_more) button.replaceWith(more(list, page.next_cursor));
    else button.remove();
  });
  return button;
}

function redeem() {
  const out = h("div");
  let key = idempotencyKey(); // one key per code typed: a retried click cannot redeem twice
  const form = submitting(
    h("form", { class: "inline", "aria-label": "Redeem a coupon" },
      field("Coupon code", { name: "code", required: true, autocomplete: "off", oninput: () => { key = idempotencyKey(); } }),
      h("button", { type: "submit" }, "Redeem")),
    out,
    async (data) => {
      try {
        const answer = await call(routes.redeemCoupon, { method: "POST", body: { code: data.get("code") }, headers: { "idempotency-key": key } });
        key = idempotencyKey();
        return `Coupon redeemed${answer?.amount_usd ? `: ${usd(answer.amount_usd)} added` : ""}.`;
      } catch (error) {
        if (error instanceof ApiError && error.routeMissing) {
          return h("div", { class: "notice", role: "status" }, "Coupons are not available on this deployment yet. Ask an operator for a credit grant.");
        }
        throw error;
      }
    },
  );
  return h("section", { class: "panel" }, h("h2", {}, "Redeem a coupon"), form, out);
}

export function render() {
  const region = h("div", { "aria-live": "off" });
  const feed = live(region, overview);
  const node = h("div", {},
    h("div", { class: "toolbar" }, h("button", { type: "button", class: "secondary", onclick: () => feed.refresh() }, "Refresh"), feed.stamp),
    region, redeem());
  return { node, stop: feed.stop };
}
