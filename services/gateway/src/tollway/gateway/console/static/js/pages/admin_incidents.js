// Incidents: what error_monitor opened from provider health and error spikes, with resolve.

import { call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { when } from "../format.js";
import { badge, errorBox } from "../views.js";
import { featurePage } from "./admin_feature.js";

export function render() {
  return featurePage({
    path: routes.incidents,
    query: { limit: 50 },
    caption: "Incidents",
    testid: "incidents",
    feature: "Incident tracking",
    todo: "It needs error_monitor's /admin/v1/incidents routes. Meanwhile Circuit breakers shows which deployments are failing.",
    empty: "No incidents. One opens when a provider's breaker opens or its error rate spikes.",
    columns: (feed) => [
      { label: "opened", value: (i) => when(i.opened_at || i.started_at || i.created_at) },
      { label: "title", value: (i) => i.title || i.summary || i.kind || i.id },
      { label: "provider", value: (i) => i.provider || "—" },
      { label: "state", value: (i) => badge(i.status || i.state || "open", (i.status || i.state) === "resolved" ? "ok" : "bad") },
      { label: "action", value: (i) => ((i.status || i.state) === "resolved" ? "" : resolveButton(i, feed)) },
    ],
  });
}

function resolveButton(incident, feed) {
  const button = h("button", { type: "button", "aria-label": `Resolve incident ${incident.title || incident.id}` }, "Resolve");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call(routes.resolveIncident(incident.id), { as: "admin", method: "POST", body: {} });
      feed.refresh();
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  });
  return button;
}
