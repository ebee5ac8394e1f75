// Chat history: the caller's saved conversations (newest first), full-text search, reading one, deleting one.

import { ApiError, call, callIfAvailable } from "../api.js";
import { h, replace } from "../dom.js";
import { routes } from "../endpoints.js";
import { count, when } from "../format.js";
import { cards, emptyState, errorBox, field, submitting, table, unavailable } from "../views.js";

const PAGE = 20;
const MESSAGES = 100;
const NONE_YET = "No saved chats yet. A chat client saves a conversation with POST /v1/chat/sessions and its " +
  "messages with POST /v1/chat/sessions/{id}/messages, using your API key; each one appears here, most recent first.";

const noMatch = (query) => `No chat matches “${query}”. Search looks for words in titles and messages ` +
  "(“rotating” also finds “rotate”); put a phrase in quotes, or -word to leave a word out.";

async function totals() {
  const [stats, feedback] = await Promise.all([call(routes.chatStats), call(routes.chatFeedbackStats).catch(() => null)]);
  const items = [
    ["Chats", count(stats.total_sessions), "chat-total-sessions"],
    ["Messages", count(stats.total_messages), "chat-total-messages"],
    ["Tokens", count(stats.total_tokens), undefined],
  ];
  if (feedback) {
    const rated = feedback.total_feedback;
    items.push(["Feedback (30 days)", rated ? `${feedback.thumbs_up_rate.toFixed(0)} % thumbs up (${count(rated)})` : "none yet", undefined]);
  }
  return cards(items);
}

function message(m) {
  return h("article", { class: `message ${m.role}` },
    h("header", {}, h("strong", {}, m.role), h("span", {}, when(m.created_at)), m.model ? h("span", {}, m.model) : null,
      m.tokens ? h("span", {}, `${count(m.tokens)} tokens`) : null),
    h("p", {}, m.content));
}

export function render({ params }) {
  const summary = h("div");
  const status = h("div");
  const list = h("div");
  const reader = h("div");
  let query = null; // the search on screen, or null for every chat
  let rows = [];
  let cursor = null;
  let shown = null; // the id of the chat being read

  const refreshTotals = () => totals().then((node) => replace(summary, node), () => replace(summary));

  async function load(more = false) {
    if (!more) replace(list, h("p", { class: "muted" }, "Loading your chats…"));
    const next = more ? cursor : undefined;
    let answer;
    try {
      answer = query === null
        ? await callIfAvailable(routes.chatSessions, { query: { limit: PAGE, cursor: next } })
        : await call(routes.chatSearch, { method: "POST", body: { query, limit: PAGE, cursor: next } });
    } catch (error) {
      replace(list, errorBox(error));
      return;
    }
    if (answer === null) {
      replace(list, unavailable("Chat history", "Chats are kept by the gateway's /v1/chat routes; until they are deployed, your chat client keeps its own history."));
      return;
    }
    rows = more ? rows.concat(answer.data) : answer.data;
    cursor = answer.next_cursor;
    draw();
  }

  function draw() {
    const caption = query === null ? "Your chats" : `Chats matching “${query}”`;
    replace(list,
      query === null ? null : h("p", {}, h("button", { type: "button", class: "secondary", onclick: showAll }, "Show every chat")),
      table(caption, [
        { label: "chat", value: (s) => s.title },
        { label: "model", value: (s) => s.model || "—" },
        { label: "last active", value: (s) => when(s.updated_at) },
        { label: "started", value: (s) => when(s.created_at) },
        { label: "actions", value: actions },
      ], rows, { testid: "chat-sessions", empty: query === null ? NONE_YET : noMatch(query) }),
      cursor ? h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => load(true) }, "Load more chats")) : null);
  }

  function showAll() {
    query = null;
    form.reset();
    load();
  }

  // Delete asks once, in place: no modal dialog, and focus stays in the row.
  function actions(s) {
    const cell = h("span", { class: "toolbar" });
    const ask = () => {
      const keep = h("button", { type: "button", class: "secondary", "aria-label": `Keep ${s.title}`, onclick: () => { replace(cell, idle()); cell.lastChild.focus(); } }, "Keep");
      replace(cell, h("span", {}, "Delete this chat?"),
        h("button", { type: "button", class: "danger", "aria-label": `Yes, delete ${s.title}`, onclick: () => remove(s) }, "Yes, delete"), keep);
      keep.focus();
    };
    const idle = () => [
      h("button", { type: "button", class: "secondary", "aria-label": `Open chat ${s.title}`, onclick: () => open(s.id) }, "Open"),
      h("button", { type: "button", class: "danger", "aria-label": `Delete chat ${s.title}`, onclick: ask }, "Delete"),
    ];
    replace(cell, idle());
    return cell;
  }

  async function remove(s) {
    try {
      await call(routes.chatSession(s.id), { method: "DELETE" });
    } catch (error) {
      replace(status, errorBox(error));
      return;
    }
    rows = rows.filter((r) => r.id !== s.id);
    if (shown === s.id) replace(reader);
    const done = h("div", { class: "success", role: "status", tabindex: "-1" }, `Deleted ${s.title}: it no longer appears in your history or in search.`);
    replace(status, done);
    draw();
    refreshTotals();
    done.focus();
  }

  async function open(id) {
    shown = id;
    replace(status);
    replace(reader, h("p", { class: "muted" }, "Loading the conversation…"));
    let chat;
    try {
      chat = await call(routes.chatSession(id), { query: { limit: MESSAGES } });
    } catch (error) {
      const gone = error instanceof ApiError && error.status === 404;
      replace(reader, gone ? emptyState("This chat is gone", "It was deleted (perhaps in another tab) or never existed. Pick another chat above.") : errorBox(error));
      return;
    }
    const heading = h("h2", { tabindex: "-1" }, chat.title);
    const messages = h("div", { class: "messages", "data-testid": "chat-messages" }, chat.messages.data.map(message));
    const later = h("p");
    const more = (next) => (next ? h("button", { type: "button", class: "secondary", onclick: () => page(next) }, "Load later messages") : null);
    async function page(next) {
      try {
        const answer = await call(routes.chatMessages(id), { query: { limit: MESSAGES, cursor: next } });
        messages.append(...answer.data.map(message));
        replace(later, more(answer.next_cursor));
      } catch (error) {
        replace(later, errorBox(error));
      }
    }
    replace(later, more(chat.messages.next_cursor));
    replace(reader, h("section", { class: "panel" }, heading,
      h("p", { class: "muted" }, `${chat.model || "no model"} · started ${when(chat.created_at)} · last active ${when(chat.updated_at)}`),
      chat.messages.data.length ? messages : h("p", {}, "This chat has no messages yet: its client saves them as the conversation goes on."),
      later,
      h("button", { type: "button", class: "secondary", onclick: () => { shown = null; replace(reader); list.querySelector("button")?.focus(); } }, "Close")));
    heading.focus();
  }

  const searchOut = h("div");
  const form = submitting(
    h("form", { class: "inline", role: "search", "aria-label": "Search your chats" },
      field("Words to find", { name: "q", type: "search", required: true, maxlength: 200, autocomplete: "off" }, "In titles and messages; \"a phrase\", or -word to exclude."),
      h("button", { type: "submit" }, "Search")),
    searchOut,
    async (data) => {
      query = String(data.get("q")).trim();
      await load();
      return null;
    },
  );

  refreshTotals();
  load();
  if (params.get("session")) open(params.get("session"));
  const refresh = h("button", { type: "button", class: "secondary", onclick: () => { refreshTotals(); load(); } }, "Refresh");
  return { node: h("div", {}, h("div", { class: "toolbar" }, refresh), summary, h("section", { class: "panel" }, form, searchOut), status, list, reader) };
}
