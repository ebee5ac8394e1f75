// Sign up: creates an account and shows its first API key once.

import { ApiError, call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { session } from "../session.js";
import { field, submitting } from "../views.js";
import { secretOnce } from "./keys.js";

export function render({ navigate }) {
  const out = h("div");
  const form = submitting(
    h("form", { "aria-label": "Create an account" },
      field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 },
        "At least 12 characters; common passwords are refused."),
      h("button", { type: "submit" }, "Create account")),
    out,
    async (data) => {
      let answer;
      try {
        answer = await call(routes.register, { method: "POST", as: "none", body: { email: data.get("email"), password: data.get("password") } });
      } catch (error) {
        if (error instanceof ApiError && error.routeMissing) {
          return h("div", { class: "notice", role: "status" },
            "Self-service sign-up is not available on this deployment. Ask an operator for an API key " +
            "(python -m tollway.gateway create-user, then create-key) and sign in with it.");
        }
        throw error;
      }
      const key = answer.api_key?.key ?? answer.key;
      // The console works on a session (short access token + refresh token); the key is for SDKs and shown once.
      const login = await call(routes.login, { method: "POST", as: "none", body: { email: data.get("email"), password: data.get("password") } });
      session.signIn("token", login.access_token, String(data.get("email")), login.refresh_token);
      return h("div", {}, h("div", { class: "success", role: "status" }, "Account created and signed in. Your trial credit arrives within a few seconds."),
        key ? secretOnce(key) : null,
        h("p", {}, h("button", { type: "button", onclick: () => navigate("#/credits") }, "Continue")));
    },
  );
  return { node: h("section", { class: "panel" }, form, out, h("p", {}, "Already have an account? ", h("a", { href: "#/signin" }, "Sign in"))) };
}
