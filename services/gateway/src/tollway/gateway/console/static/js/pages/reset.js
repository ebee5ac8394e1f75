// Password reset: ask for a link by email, then set a new password with the token it carries.

import { ApiError, call } from "../api.js";
import { h } from "../dom.js";
import { routes } from "../endpoints.js";
import { field, submitting } from "../views.js";

function missing(error) {
  if (error instanceof ApiError && error.routeMissing) {
    return h("div", { class: "notice", role: "status" }, "Password reset is not available on this deployment. Sign in with an API key, or ask an operator.");
  }
  throw error;
}

export function render({ params }) {
  const token = params.get("token");
  const out = h("div");
  if (token) {
    const form = submitting(
      h("form", { "aria-label": "Choose a new password" },
        field("New password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 }),
        h("button", { type: "submit" }, "Set password")),
      out,
      async (data) => {
        try {
          await call(routes.resetFinish, { method: "POST", as: "none", body: { token, new_password: data.get("password") } });
        } catch (error) {
          return missing(error);
        }
        return h("div", { class: "success", role: "status" }, "Password changed; other sessions were signed out. ", h("a", { href: "#/signin" }, "Sign in"));
      },
    );
    return { node: h("section", { class: "panel" }, form, out) };
  }
  const form = submitting(
    h("form", { "aria-label": "Request a reset link" },
      field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
      h("button", { type: "submit" }, "Send reset link")),
    out,
    async (data) => {
      try {
        await call(routes.resetStart, { method: "POST", as: "none", body: { email: data.get("email") } });
      } catch (error) {
        return missing(error);
      }
      return "If that address has an account, a reset link is on its way (locally: .run/mail/).";
    },
  );
  return { node: h("section", { class: "panel" }, form, out) };
}
