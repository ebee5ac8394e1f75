// Sign in: with email and password when the deployment has session routes, otherwise with an API key.

import { ApiError, call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { session } from "../session.js";
import { field, submitting } from "../views.js";

export function render({ navigate }) {
  const keyOut = h("div");
  const keyForm = submitting(
    h("form", { "aria-label": "Sign in with an API key" },
      field("API key", { name: "key", type: "password", autocomplete: "off", required: true, spellcheck: "false" },
        "Starts with tw_. make run prints a demo key; operators create keys with python -m tollway.gateway create-key."),
      h("button", { type: "submit" }, "Sign in with key")),
    keyOut,
    async (data) => {
      const key = String(data.get("key")).trim();
      session.signIn("key", key, `key ${key.slice(0, 11)}…`);
      try {
        await call(routes.balance); // any authenticated read proves the key
      } catch (error) {
        session.signOut();
        if (error instanceof ApiError && error.status === 401) throw new ApiError(401, { error: { message: "That key is unknown, revoked or expired." } });
        throw error;
      }
      navigate("#/credits");
    },
  );

  const passwordOut = h("div");
  const passwordForm = submitting(
    h("form", { "aria-label": "Sign in with email and password" },
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
      h("button", { type: "submit" }, "Sign in")),
    passwordOut,
    async (data) => {
      let answer;
      try {
        answer = await call(routes.login, { method: "POST", as: "none", body: { email: data.get("email"), password: data.get("password") } });
      } catch (error) {
        if (error instanceof ApiError && error.routeMissing) {
          return h("div", { class: "notice", role: "status" }, "Email sign-in is not available on this deployment yet. Sign in with an API key instead.");
        }
        throw error;
      }
      session.signIn("token", answer.access_token, String(data.get("email")), answer.refresh_token);
      navigate("#/credits");
      return null;
    },
  );

  const node = h("div", { class: "grid2" },
    h("section", { class: "panel" }, h("h2", {}, "With an API key"), keyForm, keyOut),
    h("section", { class: "panel" }, h("h2", {}, "With email and password"), passwordForm, passwordOut,
      h("p", {}, h("a", { href: "#/signup" }, "Create an account"), " · ", h("a", { href: "#/reset" }, "Forgot your password?"))),
    h("section", { class: "panel" }, h("h2", {}, "Operators"),
      h("p", {}, "Billing, breakers and usage across users need the deployment's admin key."),
      h("p", {}, h("a", { href: "#/admin/signin" }, "Operator sign in"))));
  return { node };
}
