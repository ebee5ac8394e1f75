// Request monitor: every user's requests, newest first (analytics' /admin/v1/requests).

import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, usd, when } from "../format.js";
import { badge } from "../views.js";
import { featurePage } from "./admin_feature.js";

export function render() {
  return featurePage({
    path: routes.adminRequests,
    query: { limit: 50 },
    caption: "Latest requests",
    testid: "admin-requests",
    feature: "The request monitor",
    todo: "It needs analytics' /admin/v1/requests route. Meanwhile Usage across users shows totals, and each user's latest requests are on their own Usage page.",
    empty: "No requests recorded yet. They appear here seconds after clients call the gateway.",
    columns: () => [
      { label: "when", value: (r) => when(r.occurred_at) },
      { label: "user", value: (r) => h("a", { href: `#/admin/accounts?user=${encodeURIComponent(r.user_id || "")}` }, r.user_id || "anonymous") },
      { label: "model", value: (r) => r.requested_model },
      { label: "provider", value: (r) => `${r.provider || "—"}${r.is_fallback ? " (fallback)" : ""}` },
      { label: "status", value: (r) => badge(r.status, r.status === "ok" ? "ok" : "bad") },
      { label: "tokens", value: (r) => count((r.prompt_tokens || 0) + (r.completion_tokens || 0)), num: true },
      { label: "cost", value: (r) => usd(r.cost_usd), num: true },
    ],
  });
}
