// Billing: coupons with their analytics, a coupon creator, and how trial credit converts (billing's admin routes).

import { ApiError, call, idempotencyKey } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, dollarsToMicros, usd, usdMicros, when } from "../format.js";
import { badge, cards, errorBox, field, submitting } from "../views.js";
import { featurePage } from "./admin_feature.js";

const AS = { as: "admin" };
const analyticsRegion = h("div", { "aria-live": "polite" });

async function trials() {
  const t = await call(routes.trials, AS).catch(() => null);
  if (!t) return null;
  return h("section", { class: "panel" }, h("h2", {}, "Trial credit"),
    cards([["Trials", count(t.total_trials), undefined], ["Active", count(t.active_trials), undefined],
      ["Converted", `${count(t.converted_trials)} (${(t.conversion_rate * 100).toFixed(0)} %)`, undefined],
      ["Trial credit used", usdMicros(t.trial_credit_used_micros), undefined]]));
}

async function showAnalytics(coupon) {
  try {
    const a = await call(routes.couponAnalytics(coupon.id), AS);
    replace(analyticsRegion, h("section", { class: "panel", "data-testid": "coupon-analytics" }, h("h2", {}, `Coupon ${coupon.code}`),
      cards([["Redemptions", count(a.total_redemptions), undefined], ["Users", count(a.unique_users), undefined],
        ["Value given", usdMicros(a.value_distributed_micros), undefined],
        ["Remaining uses", a.remaining_uses == null ? "unlimited" : count(a.remaining_uses), undefined]]),
      a.is_expired ? badge("expired", "warn") : null));
  } catch (error) {
    replace(analyticsRegion, errorBox(error));
  }
}

function creator(refresh) {
  const out = h("div");
  let key = idempotencyKey();
  const form = submitting(
    h("form", { "aria-label": "Create a coupon", oninput: () => { key = idempotencyKey(); } },
      field("Code", { name: "code", required: true, autocomplete: "off", spellcheck: "false" }, "What users type, e.g. WELCOME10."),
      field("Value (USD)", { name: "value", required: true, inputmode: "decimal", autocomplete: "off" }),
      field("Maximum uses", { name: "max_uses", type: "number", min: 1, autocomplete: "off" }, "Empty: unlimited."),
      h("button", { type: "submit" }, "Create coupon")),
    out,
    async (data) => {
      const micros = dollarsToMicros(String(data.get("value")));
      if (!micros) throw new ApiError(422, { error: { message: "Enter a positive value in dollars, e.g. 10." } });
      const body = { code: String(data.get("code")).trim(), value_micros: micros };
      if (data.get("max_uses")) body.max_uses = Number(data.get("max_uses"));
      const coupon = await call(routes.coupons, { ...AS, method: "POST", headers: { "idempotency-key": key }, body });
      key = idempotencyKey();
      refresh();
      return `Coupon ${coupon.code} created, worth ${usd(coupon.value_usd)}.`;
    },
  );
  return h("section", { class: "panel" }, h("h2", {}, "Create a coupon"), form, out);
}

export function render() {
  replace(analyticsRegion);
  const trialRegion = h("div");
  trials().then((node) => replace(trialRegion, node));
  const page = featurePage({
    path: routes.coupons,
    query: { limit: 50 },
    caption: "Coupons",
    testid: "coupons",
    feature: "Coupons",
    todo: "They need billing's /admin/v1/coupons routes. Meanwhile give credit with a grant on Accounts and credit.",
    empty: "No coupons yet. Create one below; users redeem it on their Credits page.",
    columns: () => [
      { label: "code", value: (c) => h("code", {}, c.code) },
      { label: "value", value: (c) => usd(c.value_usd), num: true },
      { label: "used", value: (c) => `${count(c.times_used ?? 0)}${c.max_uses ? ` / ${count(c.max_uses)}` : ""}`, num: true },
      { label: "valid until", value: (c) => when(c.valid_until) },
      { label: "state", value: (c) => (c.is_active === false ? badge("inactive", "bad") : badge("active", "ok")) },
      { label: "", value: (c) => h("button", { type: "button", class: "secondary", "aria-label": `Analytics of coupon ${c.code}`, onclick: () => showAnalytics(c) }, "Analytics") },
    ],
  });
  return { node: h("div", {}, trialRegion, page.node, analyticsRegion, creator(page.refresh)), stop: page.stop };
}
