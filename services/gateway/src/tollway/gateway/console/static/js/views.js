// Building blocks shared by the pages: cards, tables, empty states, errors, forms, auto-refresh.

import { ApiError } from "./api.js";
import { h, replace, uid } from "./dom.js";

export function cards(items) {
  return h("div", { class: "cards" }, items.map(([label, value, testid]) =>
    h("div", { class: "card" }, h("p", { class: "label" }, label), h("p", { class: "value", "data-testid": testid }, value))));
}

// columns: [{label, value: row -> string | Node, num?}]
export function table(caption, columns, rows, { empty, testid } = {}) {
  if (rows.length === 0) {
    const none = emptyState(caption, empty || "Nothing here yet.");
    if (testid) none.setAttribute("data-testid", testid);
    return none;
  }
  return h("div", { class: "table-wrap" },
    h("table", { "data-testid": testid },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : undefined }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : undefined }, c.value(row))))))));
}

export function emptyState(title, ...what) {
  return h("section", { class: "empty" }, h("h2", {}, title), what.map((line) => (line instanceof Node ? line : h("p", {}, line))));
}

// What a page shows when its route is not deployed yet: what the page is for and what to do about it.
export function unavailable(feature, todo) {
  return h("section", { class: "empty", "data-testid": "unavailable" },
    h("h2", {}, `${feature} is not available on this deployment`),
    h("p", {}, todo),
    h("p", { class: "muted" }, "This page lights up by itself once the gateway answers its route."));
}

export function errorBox(error) {
  const offline = error instanceof TypeError && /fetch|network/i.test(error.message);
  let text = "The console could not reach the gateway. Check your connection and retry.";
  if (error instanceof ApiError) text = error.message;
  else if (!offline) {
    console.error(error); // a console bug, not the network: say so instead of blaming the connection
    text = `The console hit a problem showing this page (${error.message}). Reload to retry.`;
  }
  if (error instanceof ApiError && error.status === 503) text = `${text} (a service is restarting or down; retry in a moment).`;
  if (error instanceof ApiError && error.status === 401) text = `${text} Sign in again.`;
  return h("div", { class: "error", role: "alert" }, text);
}

// The two audit logs link to each other: the gateway's (accounts and keys) and billing's (credit and coupons).
export function auditTabs(current) {
  const tabs = [["gateway", "#/admin/audit", "Accounts and keys"], ["billing", "#/admin/billing-audit", "Credit and coupons"]];
  return h("nav", { class: "subnav", "aria-label": "Audit logs" }, h("ul", {}, tabs.map(([name, href, label]) =>
    h("li", {}, h("a", { href, "aria-current": name === current ? "page" : undefined }, label)))));
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone}` }, text);
}

// A labelled input; the hint is outside the label (so it is not part of the name) and read as its description.
export function field(label, attrs, hint) {
  const id = uid("f");
  const hintId = hint ? `${id}-hint` : undefined;
  return h("div", { class: "field" }, h("label", { for: id }, label),
    hint ? h("span", { class: "hint", id: hintId }, hint) : null,
    h("input", { id, name: attrs.name, "aria-describedby": hintId, ...attrs }));
}

// Runs `work` on submit with the button disabled; shows its message or error in `out`.
export function submitting(form, out, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    replace(out);
    try {
      const message = await work(new FormData(form));
      if (message) {
        replace(out, message instanceof Node ? message : h("div", { class: "success", role: "status" }, message));
      }
    } catch (error) {
      replace(out, errorBox(error));
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

// Re-renders a data region every few seconds while the tab is visible; stops when the page is left.
export function live(region, load, every = 5000) {
  const stamp = h("span", { class: "updated", "aria-hidden": "true" });
  let timer = null;
  let generation = 0;
  async function tick(mine) {
    let node;
    try {
      node = await load();
    } catch (error) {
      node = errorBox(error);
    }
    if (mine !== generation) return; // left, or a newer refresh took over
    replace(region, node);
    stamp.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
    timer = setTimeout(() => tick(mine), document.hidden ? every * 4 : every);
  }
  const restart = () => {
    clearTimeout(timer);
    generation += 1;
    tick(generation);
  };
  restart();
  return { stamp, refresh: restart, stop: () => { clearTimeout(timer); generation += 1; } };
}
