// The console shell: hash routes, navigation, who is signed in, and one page at a time in <main>.

import { h, replace } from "./dom.js";
import { session } from "./session.js";

// hash -> [page module, title, who may see it ("user", "admin" or null for anyone), nav group]
const PAGES = {
  "#/signin": ["signin", "Sign in", null, null],
  "#/signup": ["signup", "Sign up", null, null],
  "#/reset": ["reset", "Reset password", null, null],
  "#/credits": ["credits", "Credits", "user", "Account"],
  "#/usage": ["usage", "Usage", "user", "Account"],
  "#/keys": ["keys", "API keys", "user", "Account"],
  "#/chats": ["chats", "Chat history", "user", "Account"],
  "#/admin/signin": ["admin_signin", "Operator sign in", null, null],
  "#/admin/accounts": ["admin_accounts", "Accounts and credit", "admin", "Operators"],
  "#/admin/usage": ["admin_usage", "Usage across users", "admin", "Operators"],
  "#/admin/breakers": ["admin_breakers", "Circuit breakers", "admin", "Operators"],
  "#/admin/providers": ["admin_providers", "Provider latency and errors", "admin", "Operators"],
  "#/admin/requests": ["admin_requests", "Request monitor", "admin", "Operators"],
  "#/admin/incidents": ["admin_incidents", "Incidents", "admin", "Operators"],
  "#/admin/coupons": ["admin_coupons", "Coupons", "admin", "Operators"],
  "#/admin/grants": ["admin_grants", "Bulk grants", "admin", "Operators"],
  "#/admin/audit": ["admin_audit", "Audit log", "admin", "Operators"],
  "#/admin/billing-audit": ["admin_billing_audit", "Billing audit", "admin", "Operators"],
  "#/admin/tracking": ["admin_tracking", "Tracking quality", "admin", "Operators"],
  "#/admin/reconciliation": ["admin_reconciliation", "Reconciliation", "admin", "Operators"],
};

let current = null; // the page on screen, so its timers stop when another replaces it

function target() {
  const hash = window.location.hash.split("?")[0];
  if (PAGES[hash]) return hash;
  if (session.user()) return "#/credits";
  return session.admin() ? "#/admin/accounts" : "#/signin";
}

function renderNav(hash) {
  const groups = [
    ["Account", session.user() ? null : h("li", {}, h("a", { href: "#/signin" }, "Sign in"))],
    ["Operators", session.admin() ? null : h("li", {}, h("a", { href: "#/admin/signin" }, "Operator sign in"))],
  ];
  const nav = groups.map(([group, fallback]) => {
    const signedIn = group === "Account" ? session.user() : session.admin();
    const links = signedIn
      ? Object.entries(PAGES)
          .filter(([, page]) => page[3] === group)
          .map(([href, page]) => h("li", {}, h("a", { href, "aria-current": href === hash ? "page" : undefined }, page[1])))
      : [fallback];
    return [h("h2", {}, group), h("ul", {}, links)];
  });
  replace(document.getElementById("nav"), nav);
}

function renderWho() {
  const user = session.user();
  const admin = session.admin();
  replace(
    document.getElementById("who"),
    user ? h("span", {}, `Signed in: ${user.label}`) : null,
    user ? h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out") : null,
    admin ? h("span", {}, "Operator") : null,
    admin ? h("button", { type: "button", class: "secondary", onclick: adminSignOut }, "Leave operator mode") : null,
  );
}

function signOut() {
  session.signOut();
  window.location.hash = "#/signin";
  show();
}

function adminSignOut() {
  session.adminSignOut();
  window.location.hash = session.user() ? "#/credits" : "#/admin/signin";
  show();
}

async function show() {
  let hash = target();
  const [, , needs] = PAGES[hash];
  if (needs === "user" && !session.user()) hash = "#/signin";
  if (needs === "admin" && !session.admin()) hash = "#/admin/signin";
  if (window.location.hash.split("?")[0] !== hash) history.replaceState(null, "", hash);
  const [module, title] = PAGES[hash];
  current?.stop?.();
  renderNav(hash);
  renderWho();
  document.title = `${title} · Tollway console`;
  const main = document.getElementById("main");
  const page = await import(`./pages/${module}.js`);
  const rendered = page.render({ navigate, params: new URLSearchParams(window.location.hash.split("?")[1] || "") });
  current = rendered;
  replace(main, h("h1", {}, title), rendered.node);
  main.focus();
}

// Pages call this after signing in or out so the shell and navigation follow.
export function navigate(hash) {
  if (window.location.hash === hash) show();
  else window.location.hash = hash;
}

window.addEventListener("hashchange", show);
show();
