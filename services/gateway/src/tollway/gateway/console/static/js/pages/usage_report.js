// The usage report both the user's and the operator's usage pages draw: totals, per-day and per-model charts.

import { barChart } from "../chart.js";
import { h } from "../dom.js";
import { count, daysAgo, isoDay, usd, usdMicros } from "../format.js";
import { cards } from "../views.js";

export const RANGES = [["7", "Last 7 days"], ["30", "Last 30 days"], ["90", "Last 90 days"]];

export function rangeQuery(days) {
  return { from: daysAgo(Number(days) - 1), to: daysAgo(0) };
}

// Analytics lists only days with traffic; a chart per day shows the quiet days too, as zero.
function everyDay(report) {
  const seen = new Map(report.groups.map((g) => [g.key, g]));
  const days = [];
  for (let day = new Date(`${report.from}T00:00:00Z`); isoDay(day) <= report.to; day.setUTCDate(day.getUTCDate() + 1)) {
    const key = isoDay(day);
    days.push(seen.get(key) || { key, requests: 0, total_tokens: 0, cost_micros: 0 });
  }
  return days;
}

const perDay = (groups, pick, text) => groups.map((g) => ({ label: g.key.slice(5), value: Number(pick(g)), text: text(g) }));

// extra: more charts for the same grid (the user's page adds spend per key).
export function report(byDay, byModel, extra = []) {
  const t = byDay.totals;
  const days = everyDay(byDay);
  return h("div", {},
    cards([
      ["Requests", count(t.requests), "total-requests"],
      ["Failed", count(t.failures), undefined],
      ["Tokens", count(t.total_tokens), "total-tokens"],
      ["Spend", usd(t.cost_usd), "total-spend"],
      ["Avg latency", t.requests ? `${count(t.avg_latency_ms)} ms` : "—", undefined],
    ]),
    h("div", { class: "grid2" },
      barChart("Requests per day", perDay(days, (g) => g.requests, (g) => count(g.requests))),
      barChart("Tokens per day", perDay(days, (g) => g.total_tokens, (g) => count(g.total_tokens))),
      barChart("Spend per day", perDay(days, (g) => g.cost_micros, (g) => usdMicros(g.cost_micros))),
      barChart("Spend per model", byModel.groups.map((g) => ({ label: g.key, value: Number(g.cost_micros), text: `${usdMicros(g.cost_micros)} · ${count(g.requests)} req` }))),
      extra));
}

export function rangePicker(current, onChange) {
  const select = h("select", { id: "usage-range", name: "range" }, RANGES.map(([value, label]) => h("option", { value, selected: value === current }, label)));
  select.addEventListener("change", () => onChange(select.value));
  return h("div", { class: "field" }, h("label", { for: "usage-range" }, "Period"), select);
}
