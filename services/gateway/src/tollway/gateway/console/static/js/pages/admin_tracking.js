// Tracking quality: how many requests carry a key (analytics' tracking routes), today's figure and the daily trend.

import { call } from "../api.js";
import { barChart } from "../chart.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { count } from "../format.js";
import { badge, cards, live } from "../views.js";

const TONE = { ok: "ok", warning: "warn", critical: "bad" };

export function render() {
  const region = h("div");
  const feed = live(region, async () => {
    const [quality, trend] = await Promise.all([
      call(routes.trackingQuality, { as: "admin", query: { hours: 24 } }),
      call(routes.trackingTrend, { as: "admin", query: { days: 7 } }),
    ]);
    const days = trend.data;
    return h("div", {},
      h("p", {}, "Tracking quality (last 24 h): ", badge(quality.alert_status, TONE[quality.alert_status] || "warn")),
      cards([
        ["Requests", count(quality.total_requests), undefined],
        ["With a key", count(quality.requests_with_api_key), undefined],
        ["Anonymous", count(quality.anonymous_requests), undefined],
        ["Tracking rate", `${quality.tracking_rate_percent.toFixed(1)} %`, "tracking-rate"],
      ]),
      barChart("Tracking rate per day (%)", days.map((d) => ({ label: String(d.date).slice(5), value: d.tracking_rate_percent, text: `${d.tracking_rate_percent.toFixed(1)} %` }))),
      quality.recommendations.length ? h("section", { class: "panel" }, h("h2", {}, "Recommendations"), h("ul", {}, quality.recommendations.map((r) => h("li", {}, r)))) : null);
  }, 15000);
  return { node: h("div", {}, h("p", {}, "Requests a user made without a key, or that no one can be billed for, lower the rate; anonymous requests are allowed."), feed.stamp, region), stop: feed.stop };
}
