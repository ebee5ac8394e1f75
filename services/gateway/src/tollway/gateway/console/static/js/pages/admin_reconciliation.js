// Reconciliation: what each provider billed per model and day against what Tollway recorded (analytics' report).

import { call, callIfAvailable } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, daysAgo, usdMicros } from "../format.js";
import { badge, cards, emptyState, errorBox, field, submitting, table, unavailable } from "../views.js";

const AS = { as: "admin" };
const PROVIDER_HINT = "The provider id analytics files its usage under: openai and anthropic unless "
  + "ANALYTICS_OPENAI_PROVIDER_ID / ANALYTICS_ANTHROPIC_PROVIDER_ID say otherwise.";

// drift in basis points -> "+5.00 %"; null when Tollway recorded nothing for the row.
const drift = (bps) => (bps === null || bps === undefined ? "—" : `${bps > 0 ? "+" : bps < 0 ? "\u2212" : ""}${(Math.abs(bps) / 100).toFixed(2)} %`);
const sum = (rows, pick) => rows.reduce((total, row) => total + BigInt(pick(row)), 0n);

function columns(tolerance) {
  return [
    { label: "day", value: (l) => h("span", { class: "nowrap" }, l.day) },
    { label: "provider", value: (l) => l.provider },
    { label: "model", value: (l) => h("code", {}, l.model) },
    { label: "provider's cost", value: (l) => usdMicros(l.provider_cost_micros), num: true },
    { label: "our cost", value: (l) => usdMicros(l.recorded_cost_micros), num: true },
    { label: "difference", value: (l) => usdMicros(BigInt(l.provider_cost_micros) - BigInt(l.recorded_cost_micros)), num: true },
    { label: "drift", value: (l) => drift(l.drift_bps), num: true },
    { label: "status", value: (l) => (l.drifted ? badge("flagged", "bad") : badge(`within ±${tolerance}`, "ok")) },
  ];
}

function howToImport(report) {
  return emptyState(`No provider has reported usage for ${report.from} to ${report.to}`,
    "A report compares usage a provider's admin API reported with what Tollway recorded, so import it first: "
      + "use Import provider usage below, or call",
    h("p", {}, h("code", {}, `POST /admin/v1/provider-usage/import?provider=openai&from=${report.from}&to=${report.to}`),
      " with the admin key (analytics needs ANALYTICS_OPENAI_ADMIN_KEY or ANALYTICS_ANTHROPIC_ADMIN_KEY). Then press Show report."));
}

function summary(report, rows, filters) {
  const tolerance = `${(report.tolerance_bps / 100).toFixed(0)} %`;
  const theirs = sum(rows, (l) => l.provider_cost_micros);
  const ours = sum(rows, (l) => l.recorded_cost_micros);
  const flagged = rows.filter((l) => l.drifted).length;
  const shown = filters.flagged ? rows.filter((l) => l.drifted) : rows;
  return h("div", {},
    cards([
      ["Provider's cost", usdMicros(theirs), "reconciliation-theirs"],
      ["Our cost", usdMicros(ours), "reconciliation-ours"],
      ["Difference", usdMicros(theirs - ours), "reconciliation-difference"],
      ["Flagged rows", `${count(flagged)} of ${count(rows.length)}`, "reconciliation-flagged"],
    ]),
    table(`Provider cost against ours, ${report.from} to ${report.to}`, columns(tolerance), shown, { testid: "reconciliation",
      empty: `No row drifts beyond ±${tolerance} in this period. Clear "Only flagged rows" to see every row.` }));
}

function providerOptions(select, providers) {
  const chosen = select.value;
  replace(select, h("option", { value: "" }, "any"), [...providers].sort().map((p) => h("option", { value: p, selected: p === chosen }, p)));
}

function importer(reload) {
  const out = h("div", { "aria-live": "polite" });
  const form = submitting(
    h("form", { "aria-label": "Import provider usage" },
      field("Provider id", { name: "provider", required: true, autocomplete: "off", spellcheck: "false" }, PROVIDER_HINT),
      field("First day", { name: "from", type: "date" }, "Empty: from where the last import stopped."),
      field("Last day", { name: "to", type: "date" }, "Empty: yesterday (UTC)."),
      h("button", { type: "submit" }, "Import usage")),
    out,
    async (data) => {
      const query = { provider: String(data.get("provider")).trim(), from: data.get("from"), to: data.get("to") };
      const result = await call(routes.importProviderUsage, { ...AS, method: "POST", query });
      reload();
      return `Imported ${count(result.rows)} rows from ${result.provider} (${count(result.changed)} new or changed), up to ${result.cursor || result.to}.`;
    },
  );
  return h("section", { class: "panel" }, h("h2", {}, "Import provider usage"),
    h("p", {}, "Fetches what the provider's admin usage and cost API reports, day by day; importing a day again changes nothing unless the provider changed it."),
    form, out);
}

export function render() {
  const region = h("div");
  const provider = h("select", { id: "reconciliation-provider", name: "provider" }, h("option", { value: "" }, "any"));
  let filters = { from: daysAgo(7), to: daysAgo(1), provider: "", flagged: false };

  async function load() {
    replace(region, h("p", { class: "muted" }, "Reconciling…"));
    try {
      const report = await callIfAvailable(routes.reconciliation, { ...AS, query: { from: filters.from, to: filters.to } });
      if (report === null) {
        replace(region, unavailable("Reconciliation", "It needs analytics' GET /admin/v1/reconciliation route, forwarded by the gateway."));
        return;
      }
      providerOptions(provider, new Set(report.data.map((l) => l.provider)));
      const rows = report.data.filter((l) => !filters.provider || l.provider === filters.provider);
      replace(region, report.data.length ? summary(report, rows, filters) : howToImport(report));
    } catch (error) {
      replace(region, errorBox(error));
    }
  }

  const form = h("form", { class: "inline filters", "aria-label": "Choose the report" },
    field("From", { name: "from", type: "date", required: true, value: filters.from }),
    field("To", { name: "to", type: "date", required: true, value: filters.to }),
    h("div", { class: "field" }, h("label", { for: "reconciliation-provider" }, "Provider"), provider),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "flagged" }), "Only flagged rows"),
    h("button", { type: "submit" }, "Show report"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    filters = { from: String(data.get("from")), to: String(data.get("to")), provider: String(data.get("provider") || ""), flagged: data.get("flagged") === "on" };
    load();
  });
  load();
  return { node: h("div", {},
    h("p", {}, "What each provider billed for a model on a UTC day, against the cost Tollway recorded for the requests it sent there. "
      + "A report covers up to 93 days; a row beyond the tolerance is flagged, and announced once as analytics.reconciliation.drifted.v1. "
      + "Today is left out by default: providers keep filling it in for hours."),
    form, region, importer(load)) };
}
