// Request monitor: every user's requests with filters, the series chart, per-provider figures and the latest rows.

import { call } from "../api.js";
import { barChart } from "../chart.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, usd, when } from "../format.js";
import { badge, cards, field, live, table } from "../views.js";
import { rangePicker, rangeQuery } from "./usage_report.js";

const ROWS = [
  { label: "when", value: (r) => when(r.occurred_at) },
  { label: "user", value: (r) => (r.user_id ? h("a", { href: `#/admin/accounts?user=${encodeURIComponent(r.user_id)}` }, r.user_id) : "anonymous") },
  { label: "model", value: (r) => r.requested_model },
  { label: "provider", value: (r) => `${r.provider || "—"}${r.is_fallback ? " (fallback)" : ""}` },
  { label: "status", value: (r) => badge(r.status, r.status === "ok" ? "ok" : "bad") },
  { label: "tokens", value: (r) => count((r.prompt_tokens || 0) + (r.completion_tokens || 0)), num: true },
  { label: "cost", value: (r) => usd(r.cost_usd), num: true },
  { label: "latency", value: (r) => (r.latency_ms == null ? "—" : `${count(r.latency_ms)} ms`), num: true },
];

const PROVIDERS = [
  { label: "provider", value: (p) => p.provider || "—" },
  { label: "requests", value: (p) => count(p.requests), num: true },
  { label: "failures", value: (p) => count(p.failures), num: true },
  { label: "success", value: (p) => (p.success_rate == null ? "—" : `${p.success_rate.toFixed(1)} %`), num: true }, // already a percentage
  { label: "p95 latency", value: (p) => (p.p95_latency_ms == null ? "—" : `${count(p.p95_latency_ms)} ms`), num: true },
  { label: "spend", value: (p) => usd(p.cost_usd), num: true },
];

const day = (point) => point.t.slice(5, 10);

export function render() {
  let days = "7";
  let filters = {};
  const region = h("div");
  const feed = live(region, async () => {
    const query = { ...rangeQuery(days), ...filters };
    const [series, providers, latest] = await Promise.all([
      call(routes.adminRequestSeries, { as: "admin", query: { ...query, bucket: "day" } }),
      call(routes.adminByProvider, { as: "admin", query }),
      call(routes.adminRequests, { as: "admin", query: { ...query, limit: 50 } }),
    ]);
    const total = series.data.reduce((sum, p) => sum + p.requests, 0);
    const failed = series.data.reduce((sum, p) => sum + p.failures, 0);
    return h("div", {},
      cards([["Requests", count(total), "monitor-requests"], ["Failed", count(failed), undefined]]),
      h("div", { class: "grid2" },
        barChart("Requests per day (all users)", series.data.map((p) => ({ label: day(p), value: p.requests, text: count(p.requests) }))),
        barChart("Failures per day", series.data.map((p) => ({ label: day(p), value: p.failures, text: count(p.failures) })))),
      table("Providers", PROVIDERS, providers.data || [], { testid: "providers", empty: "No provider served a request in this period." }),
      table("Latest requests", ROWS, latest.data, { testid: "admin-requests", empty: "No requests match. They appear here seconds after clients call the gateway." }));
  }, 10000);
  const inputs = [["Model", "model"], ["Provider", "provider"], ["User id", "user_id"]].map(([label, name]) =>
    field(label, { name, autocomplete: "off", spellcheck: "false" }));
  const status = h("select", { id: "monitor-status", name: "status" },
    [["", "any"], ["ok", "ok"], ["failed", "failed"], ["cancelled", "cancelled"]].map(([value, label]) => h("option", { value }, label)));
  const form = h("form", { class: "inline", "aria-label": "Filter requests" }, inputs,
    h("div", { class: "field" }, h("label", { for: "monitor-status" }, "Status"), status),
    rangePicker(days, (value) => { days = value; feed.refresh(); }), h("button", { type: "submit" }, "Apply"), feed.stamp);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    filters = Object.fromEntries(["model", "provider", "user_id", "status"].map((n) => [n, String(data.get(n) || "").trim()]));
    feed.refresh();
  });
  return { node: h("div", {}, form, region), stop: feed.stop };
}
