// Usage: the signed-in user's requests, tokens and spend per day and model, and their latest requests.

import { call, callIfAvailable } from "../api.js";
import { barChart } from "../chart.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, usd, usdMicros, when } from "../format.js";
import { badge, live, table } from "../views.js";
import { rangePicker, rangeQuery, report } from "./usage_report.js";

const REQUESTS = [
  { label: "when", value: (r) => when(r.occurred_at) },
  { label: "request", value: (r) => h("code", {}, r.request_id) },
  { label: "model", value: (r) => r.requested_model },
  { label: "provider", value: (r) => `${r.provider || "—"}${r.is_fallback ? " (fallback)" : ""}` },
  { label: "status", value: (r) => badge(r.status, r.status === "ok" ? "ok" : "bad") },
  { label: "tokens", value: (r) => count((r.prompt_tokens || 0) + (r.completion_tokens || 0)), num: true },
  { label: "cost", value: (r) => usd(r.cost_usd), num: true },
  { label: "latency", value: (r) => (r.latency_ms === null ? "—" : `${count(r.latency_ms)} ms`), num: true },
];

// Spend per key comes from billing's ledger (analytics groups by day and model); keys are named when the caller may list them.
async function perKey(days, names) {
  const summary = await call(routes.creditSummary, { query: { days } }).catch(() => null);
  if (!summary) return null;
  const label = (id) => (id ? names.get(id) || id : "(no key)");
  return barChart("Spend per API key", summary.by_key.map((k) => ({ label: label(k.key), value: Number(k.spend_micros), text: `${usdMicros(k.spend_micros)} · ${count(k.requests)} req` })),
    { empty: "No spend in this period yet." });
}

async function keyNames() {
  const list = await callIfAvailable(routes.keys).catch(() => null);
  return new Map((list?.data || []).map((k) => [k.id, k.name || k.id]));
}

export function render() {
  let days = "7";
  const region = h("div");
  const names = keyNames(); // once per visit: key names change rarely, spend every refresh
  const feed = live(region, async () => {
    const range = rangeQuery(days);
    const [byDay, byModel, latest, keys] = await Promise.all([
      call(routes.usage, { query: { ...range, group_by: "day" } }),
      call(routes.usage, { query: { ...range, group_by: "model" } }),
      call(routes.usageRequests, { query: { limit: 20 } }),
      names.then((known) => perKey(days, known)),
    ]);
    return h("div", {}, report(byDay, byModel, keys ? [keys] : []),
      table("Latest requests", REQUESTS, latest.data, { testid: "requests", empty: "No requests yet. Point the OpenAI or Anthropic SDK at this gateway with your key; each request appears here within seconds." }));
  });
  const node = h("div", {},
    h("div", { class: "toolbar" }, rangePicker(days, (value) => { days = value; feed.refresh(); }),
      h("button", { type: "button", class: "secondary", onclick: () => feed.refresh() }, "Refresh"), feed.stamp),
    region);
  return { node, stop: feed.stop };
}
