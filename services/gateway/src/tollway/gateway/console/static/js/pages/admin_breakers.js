// Circuit breakers: every deployment's breaker, refreshed every few seconds, with reset one / reset all.

import { call } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, when } from "../format.js";
import { badge, errorBox, live, table } from "../views.js";

const AS = { as: "admin" };
const TONE = { closed: "ok", half_open: "warn", open: "bad" };

export function render() {
  const region = h("div");
  const feed = live(region, async () => {
    const { data } = await call(routes.breakers, AS);
    return table("Breakers", [
      { label: "deployment", value: (b) => h("code", {}, b.deployment) },
      { label: "state", value: (b) => badge(b.phase.replace("_", " "), TONE[b.phase] || "warn") },
      { label: "failures", value: (b) => count(b.failures), num: true },
      { label: "429s", value: (b) => count(b.rate_limits), num: true },
      { label: "open until", value: (b) => (b.open_until ? when(new Date(b.open_until * 1000).toISOString()) : "—") },
      { label: "reopened", value: (b) => count(b.reopens), num: true },
      { label: "action", value: (b) => h("button", { type: "button", class: b.phase === "closed" ? "secondary" : undefined,
        "aria-label": `Reset breaker ${b.deployment}`, onclick: () => reset(b.deployment) }, "Reset") },
    ], data, { testid: "breakers", empty: "No breaker has state yet: every deployment is healthy. A breaker appears here after failures or 429s from a provider." });
  });

  const out = h("div");
  async function reset(deployment) {
    try {
      const { reset: closed } = await call(deployment ? routes.breaker(deployment) : routes.breakers, { ...AS, method: "DELETE" });
      const message = deployment ? `Breaker ${deployment} reset.` : `${closed} breakers reset.`;
      replace(out, h("div", { class: "success", role: "status" }, message));
    } catch (error) {
      replace(out, errorBox(error));
    }
    feed.refresh();
  }

  const node = h("div", {},
    h("p", {}, "A breaker opens after repeated failures of one deployment and sends traffic to the next; reset it once the provider is healthy again. ",
      h("a", { href: "#/admin/providers" }, "Latency and errors per provider"), " over time show whether it is."),
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "secondary", onclick: () => feed.refresh() }, "Refresh"),
      h("button", { type: "button", class: "danger", onclick: () => reset(null) }, "Reset all"), feed.stamp),
    out, region);
  return { node, stop: feed.stop };
}
