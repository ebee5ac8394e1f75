// Usage across users: totals, per day and per model, optionally narrowed to one user.

import { call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { field, live } from "../views.js";
import { rangePicker, rangeQuery, report } from "./usage_report.js";

export function render() {
  let days = "7";
  let userId = "";
  const region = h("div");
  const feed = live(region, async () => {
    const query = { ...rangeQuery(days), user_id: userId };
    const [byDay, byModel] = await Promise.all([
      call(routes.adminUsage, { as: "admin", query: { ...query, group_by: "day" } }),
      call(routes.adminUsage, { as: "admin", query: { ...query, group_by: "model" } }),
    ]);
    return report(byDay, byModel);
  }, 10000);
  const user = field("User id (optional)", { name: "user", autocomplete: "off", spellcheck: "false", placeholder: "usr_…" });
  const filter = h("form", { class: "inline", "aria-label": "Filter usage" }, user,
    rangePicker(days, (value) => { days = value; feed.refresh(); }), h("button", { type: "submit" }, "Apply"), feed.stamp);
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    userId = user.querySelector("input").value.trim();
    feed.refresh();
  });
  return { node: h("div", {}, filter, region), stop: feed.stop };
}
