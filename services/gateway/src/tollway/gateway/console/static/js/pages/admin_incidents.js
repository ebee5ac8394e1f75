// Incidents: what error_monitor opened from provider health and error spikes, with their logs and resolve.

import { call } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, when } from "../format.js";
import { badge, cards, errorBox, table } from "../views.js";
import { featurePage } from "./admin_feature.js";

const logsRegion = h("div", { "aria-live": "polite" });

export function render() {
  replace(logsRegion);
  const page = featurePage({
    path: routes.incidents,
    query: { limit: 50 },
    caption: "Incidents",
    testid: "incidents",
    feature: "Incident tracking",
    todo: "It needs error_monitor's /admin/v1/incidents routes. Meanwhile Circuit breakers shows which deployments are failing.",
    empty: "No incidents. One opens when a provider fails 5 attempts in a row, half of its attempts in 5 minutes, or an error pattern spikes.",
    extra: (data) => cards([["Total", count(data.total_incidents), undefined], ["Ongoing", count(data.ongoing), "ongoing-incidents"], ["Resolved", count(data.resolved), undefined]]),
    columns: (feed) => [
      { label: "opened", value: (i) => when(i.opened_at) },
      { label: "title", value: (i) => i.title },
      { label: "provider", value: (i) => i.provider || "—" },
      { label: "severity", value: (i) => i.severity },
      { label: "errors", value: (i) => count(i.error_count), num: true },
      { label: "state", value: (i) => badge(i.status, i.status === "resolved" ? "ok" : "bad") },
      { label: "actions", value: (i) => h("span", { class: "toolbar" },
        h("button", { type: "button", class: "secondary", "aria-label": `Logs of incident ${i.title}`, onclick: () => showLogs(i) }, "Logs"),
        i.status === "resolved" ? null : resolveButton(i, feed)) },
    ],
  });
  return { node: h("div", {}, page.node, logsRegion), stop: page.stop };
}

async function showLogs(incident) {
  replace(logsRegion, h("p", { class: "muted" }, "Loading logs…"));
  try {
    const logs = await call(routes.incidentLogs(incident.id), { as: "admin", query: { limit: 200 } });
    replace(logsRegion, h("section", { class: "panel", "data-testid": "incident-logs" },
      h("h2", {}, `Logs: ${incident.title}`),
      table(`${count(logs.total_logs)} errors from 5 minutes before the incident until it ended`, [
        { label: "when", value: (l) => when(l.timestamp) },
        { label: "level", value: (l) => l.level },
        { label: "service", value: (l) => l.service },
        { label: "category", value: (l) => l.category },
        { label: "message", value: (l) => l.message },
      ], logs.data, { empty: "No errors were recorded around this incident." })));
  } catch (error) {
    replace(logsRegion, errorBox(error));
  }
}

function resolveButton(incident, feed) {
  const button = h("button", { type: "button", "aria-label": `Resolve incident ${incident.title}` }, "Resolve");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call(routes.resolveIncident(incident.id), { as: "admin", method: "POST", body: { notes: "resolved in the console" } });
      feed.refresh();
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  });
  return button;
}
