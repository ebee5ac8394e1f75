// API keys: list, create (the secret is shown once), rotate and revoke; needs the gateway's /v1/keys routes.

import { ApiError, call, callIfAvailable } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { dollarsToMicros, usdMicros, when } from "../format.js";
import { badge, errorBox, field, submitting, table, unavailable } from "../views.js";

const SCOPES = [["inference", "Inference (chat and messages)"], ["read", "Read usage and credits"], ["account", "Manage the account and keys"]];

// The secret is in the page only until it is left; the API never shows it again.
export function secretOnce(secret) {
  const code = h("code", { "data-testid": "new-secret" }, secret);
  const copy = h("button", { type: "button", class: "secondary" }, "Copy");
  copy.addEventListener("click", async () => {
    await navigator.clipboard.writeText(secret);
    copy.textContent = "Copied";
  });
  return h("div", { class: "notice", role: "status" },
    h("p", {}, h("strong", {}, "Copy this key now: it is shown only once.")), h("div", { class: "secret" }, code, copy));
}

function limits(key) {
  const parts = [];
  if (key.spend_limit_day_micros != null) parts.push(`${usdMicros(key.spend_limit_day_micros)}/day`);
  if (key.spend_limit_month_micros != null) parts.push(`${usdMicros(key.spend_limit_month_micros)}/month`);
  if (key.allowed_models) parts.push(`models: ${key.allowed_models.join(", ")}`);
  return parts.join(" · ") || "none";
}

// The create form's optional limits, as the API wants them (micro-USD, a model list); empty fields are left out.
function limitFields(data) {
  const body = {};
  for (const [field, name] of [["spend_limit_day_micros", "day"], ["spend_limit_month_micros", "month"]]) {
    const text = String(data.get(name) || "").trim();
    if (!text) continue;
    const micros = dollarsToMicros(text);
    if (!micros) throw new ApiError(422, { error: { message: "Spend limits are positive dollar amounts, e.g. 5 or 0.50." } });
    body[field] = micros;
  }
  const models = String(data.get("models") || "").split(",").map((m) => m.trim()).filter(Boolean);
  if (models.length) body.allowed_models = models;
  return body;
}

function status(key) {
  if (key.revoked_at) return badge("revoked", "bad");
  if (key.expires_at && new Date(key.expires_at) < new Date()) return badge("expired", "warn");
  return badge("active", "ok");
}

export function render() {
  const region = h("div");
  const out = h("div");

  async function act(work) {
    replace(out);
    try {
      await work();
      await load();
    } catch (error) {
      replace(out, errorBox(error));
    }
  }

  const columns = [
    { label: "name", value: (k) => k.name || "(unnamed)" },
    { label: "key", value: (k) => h("code", {}, `${k.prefix || k.display_prefix || ""}…`) },
    { label: "scopes", value: (k) => (k.scopes || []).join(", ") || "all" },
    { label: "limits", value: limits },
    { label: "status", value: status },
    { label: "created", value: (k) => when(k.created_at) },
    { label: "last used", value: (k) => when(k.last_used_at) },
    { label: "actions", value: (k) => (k.revoked_at ? "" : h("span", { class: "toolbar" },
      h("button", { type: "button", class: "secondary", "aria-label": `Rotate key ${k.name || k.id}`,
        onclick: () => act(async () => replace(out, secretOnce((await call(routes.rotateKey(k.id), { method: "POST" })).key))) }, "Rotate"),
      h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${k.name || k.id}`,
        onclick: () => act(() => call(routes.key(k.id), { method: "DELETE" })) }, "Revoke"))) },
  ];

  async function load() {
    const list = await callIfAvailable(routes.keys);
    if (list === null) {
      replace(region, unavailable("Key management", "Operators can create and revoke keys with the admin API (POST /admin/v1/users/{id}/api-keys) or python -m tollway.gateway create-key."));
      return;
    }
    const createOut = h("div");
    const form = submitting(
      h("form", { "aria-label": "Create a key" },
        field("Name", { name: "name", required: true, maxlength: 100 }, "Where the key is used, e.g. laptop or ci."),
        h("fieldset", {}, h("legend", {}, "Scopes"),
          SCOPES.map(([value, label]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "scopes", value, checked: value !== "account" }), label))),
        h("fieldset", {}, h("legend", {}, "Limits (optional)"),
          field("Daily spend limit (USD)", { name: "day", inputmode: "decimal", autocomplete: "off" }),
          field("Monthly spend limit (USD)", { name: "month", inputmode: "decimal", autocomplete: "off" }),
          field("Allowed models", { name: "models", autocomplete: "off", spellcheck: "false" }, "Comma-separated model ids; empty allows every model.")),
        h("button", { type: "submit" }, "Create key")),
      createOut,
      async (data) => {
        const created = await call(routes.keys, { method: "POST", body: { name: data.get("name"), scopes: data.getAll("scopes"), ...limitFields(data) } });
        await load();
        replace(out, secretOnce(created.key));
        return null;
      },
    );
    replace(region, table("Your API keys", columns, list.data || [], { testid: "keys", empty: "No keys yet: create one below." }),
      h("section", { class: "panel" }, h("h2", {}, "Create a key"), form, createOut));
  }

  load().catch((error) => replace(out, errorBox(error))); // once: act() would load twice and wipe a half-filled form
  return { node: h("div", {}, out, region) };
}
