// Providers over time: each provider's p50/p95 latency and failed requests per hour or day (analytics' series).

import { call } from "../api.js";
import { barChart, lineChart } from "../chart.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, daysAgo, usd } from "../format.js";
import { live, table } from "../views.js";

const AS = { as: "admin" };
const SHOWN = 6; // the busiest providers get charts; the filter reaches the others
// period -> its name, how many days back it starts, the bucket, and how many buckets end it (null: all of them)
const RANGES = {
  "24h": { name: "Last 24 hours, hourly", back: 1, bucket: "hour", last: 24 },
  "7d": { name: "Last 7 days, hourly", back: 6, bucket: "hour", last: null },
  "30d": { name: "Last 30 days, daily", back: 29, bucket: "day", last: null },
};

const ms = (v) => (v == null ? "—" : `${count(v)} ms`);
const percent = (part, whole) => (whole ? `${((part / whole) * 100).toFixed(1)} %` : "—");

const TOTALS = [
  { label: "provider", value: (p) => p.provider },
  { label: "requests", value: (p) => count(p.requests), num: true },
  { label: "failed", value: (p) => count(p.failures), num: true },
  { label: "error rate", value: (p) => percent(p.failures, p.requests), num: true },
  { label: "p50 latency", value: (p) => ms(p.p50_latency_ms), num: true },
  { label: "p95 latency", value: (p) => ms(p.p95_latency_ms), num: true },
  { label: "spend", value: (p) => usd(p.cost_usd), num: true },
];

// Analytics fills the whole of today with buckets; the hours still to come are left off, not drawn as zeros.
function past(series, range) {
  const now = Date.now();
  const kept = series.data.filter((p) => new Date(p.t).getTime() <= now);
  return range.last ? kept.slice(-range.last) : kept;
}

function label(t, range) {
  if (range.bucket === "day") return t.slice(5, 10);
  return range.last ? t.slice(11, 16) : `${t.slice(5, 10)} ${t.slice(11, 13)}h`;
}

function figures(provider, series, range) {
  const points = past(series, range);
  const labels = points.map((p) => label(p.t, range));
  const requests = points.reduce((sum, p) => sum + p.requests, 0);
  const failed = points.reduce((sum, p) => sum + p.failures, 0);
  const maxLabels = range.last || range.bucket === "day" ? 8 : 4;
  const failures = failed === 0 ? [] : points.map((p, i) => ({ label: labels[i], value: p.failures, text: `${count(p.failures)} of ${count(p.requests)}` }));
  return h("section", { class: "panel" },
    h("h2", {}, provider),
    h("p", {}, `${count(requests)} requests, ${count(failed)} failed (${percent(failed, requests)}) in this period.`),
    h("div", { class: "grid2" },
      lineChart(`Latency of ${provider} (ms)`, labels, [
        { name: "p50", values: points.map((p) => p.p50_latency_ms), text: ms },
        { name: "p95", values: points.map((p) => p.p95_latency_ms), text: ms },
      ], { maxLabels, empty: "No request finished at this provider in this period, so there is no latency to draw." }),
      barChart(`Failed requests at ${provider}`, failures, { maxLabels, empty: `No failed requests at ${provider} in this period.` })));
}

export function render() {
  let period = "24h";
  let provider = "";
  const region = h("div");
  const choice = h("select", { id: "provider-filter", name: "provider" }, h("option", { value: "" }, `The ${SHOWN} busiest`));

  // New providers join the filter as they appear; the operator's selection and focus stay put.
  function remember(rows) {
    const known = new Set([...choice.options].map((o) => o.value));
    for (const row of rows) if (row.provider && !known.has(row.provider)) choice.append(h("option", { value: row.provider }, row.provider));
  }

  const feed = live(region, async () => {
    const range = RANGES[period];
    const days = { from: daysAgo(range.back), to: daysAgo(0) };
    const totals = await call(routes.adminByProvider, { ...AS, query: days });
    const rows = totals.data.filter((p) => p.provider);
    remember(rows);
    const names = provider ? [provider] : rows.map((p) => p.provider).slice(0, SHOWN);
    const series = await Promise.all(names.map((name) =>
      call(routes.adminRequestSeries, { ...AS, query: { ...days, provider: name, bucket: range.bucket } })));
    return h("div", {},
      table("Providers in this period", TOTALS, rows, { testid: "provider-totals",
        empty: "No provider served a request in this period. Send one through the gateway (make run prints a curl), or pick a longer period." }),
      names.length ? h("div", { "data-testid": "provider-figures" }, names.map((name, i) => figures(name, series[i], range))) : null,
      !provider && rows.length > SHOWN ? h("p", { class: "muted" }, `Charts show the ${SHOWN} busiest providers; pick one above for the others.`) : null);
  }, 15000);

  const periods = h("select", { id: "provider-range", name: "range" },
    Object.entries(RANGES).map(([value, range]) => h("option", { value, selected: value === period }, range.name)));
  const form = h("form", { class: "inline filters", "aria-label": "Choose providers and period" },
    h("div", { class: "field" }, h("label", { for: "provider-filter" }, "Provider"), choice),
    h("div", { class: "field" }, h("label", { for: "provider-range" }, "Period"), periods),
    h("button", { type: "submit" }, "Apply"), feed.stamp);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    provider = choice.value;
    period = periods.value;
    feed.refresh();
  });
  const node = h("div", {},
    h("p", {}, "Latency percentiles and failed requests per provider over time, from analytics' request records. ",
      "An attempt a fallback recovered counts as the fallback's success; ", h("a", { href: "#/admin/breakers" }, "Circuit breakers"),
      " and ", h("a", { href: "#/admin/incidents" }, "Incidents"), " see those failed attempts."),
    form, region);
  return { node, stop: feed.stop };
}
