// Operator pages on routes other services are still adding: a table when the route answers, else what to do.

import { callIfAvailable } from "../api.js";
import { h } from "../dom.js";
import { live, table, unavailable } from "../views.js";

// spec: {path, query?, caption, columns, empty, feature, todo, intro?, extra?(data, refresh)}
export function featurePage(spec) {
  const region = h("div");
  const feed = live(region, async () => {
    const data = await callIfAvailable(spec.path, { as: "admin", query: spec.query });
    if (data === null) return unavailable(spec.feature, spec.todo);
    const rows = Array.isArray(data) ? data : data.data || [];
    return h("div", {}, spec.extra ? spec.extra(data) : null, table(spec.caption, spec.columns(feed), rows, { empty: spec.empty, testid: spec.testid }));
  }, 10000);
  const node = h("div", {}, spec.intro ? h("p", {}, spec.intro) : null,
    h("div", { class: "toolbar" }, h("button", { type: "button", class: "secondary", onclick: () => feed.refresh() }, "Refresh"), feed.stamp), region);
  return { node, stop: feed.stop, refresh: () => feed.refresh() };
}
