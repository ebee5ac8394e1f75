// Coupons: billing's coupons with their use counts (billing's /admin/v1/coupons).

import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, usd, when } from "../format.js";
import { badge } from "../views.js";
import { featurePage } from "./admin_feature.js";

export function render() {
  return featurePage({
    path: routes.coupons,
    query: { limit: 50 },
    caption: "Coupons",
    testid: "coupons",
    feature: "Coupons",
    todo: "They need billing's /admin/v1/coupons routes. Meanwhile give credit with a grant on Accounts and credit.",
    empty: "No coupons yet. Create one with POST /admin/v1/coupons; it appears here.",
    columns: () => [
      { label: "code", value: (c) => h("code", {}, c.code) },
      { label: "value", value: (c) => usd(c.value_usd ?? c.amount_usd), num: true },
      { label: "used", value: (c) => `${count(c.times_used ?? c.uses ?? 0)}${c.max_uses ? ` / ${count(c.max_uses)}` : ""}`, num: true },
      { label: "valid until", value: (c) => when(c.valid_until || c.expires_at) },
      { label: "state", value: (c) => (c.is_active === false ? badge("inactive", "bad") : badge("active", "ok")) },
    ],
  });
}
