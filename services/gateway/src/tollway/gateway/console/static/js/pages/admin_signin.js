// Operator sign in: the deployment's admin key (GATEWAY_ADMIN_KEY), kept for this tab only.

import { ApiError, call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { session } from "../session.js";
import { field, submitting } from "../views.js";

export function render({ navigate }) {
  const out = h("div");
  const form = submitting(
    h("form", { "aria-label": "Operator sign in" },
      field("Admin key", { name: "key", type: "password", autocomplete: "off", required: true, spellcheck: "false" },
        "GATEWAY_ADMIN_KEY; make run writes it to .run/demo.env as TOLLWAY_ADMIN_KEY."),
      h("button", { type: "submit" }, "Enter operator mode")),
    out,
    async (data) => {
      session.adminSignIn(String(data.get("key")).trim());
      try {
        await call(routes.breakers, { as: "admin" });
      } catch (error) {
        // 401 is the gateway refusing the key; anything else (a router restarting) still proves the key.
        if (error instanceof ApiError && error.status === 401) {
          session.adminSignOut();
          throw new ApiError(401, { error: { message: "The gateway refused that admin key." } });
        }
      }
      navigate("#/admin/accounts");
      return null;
    },
  );
  return { node: h("section", { class: "panel" }, form, out) };
}
