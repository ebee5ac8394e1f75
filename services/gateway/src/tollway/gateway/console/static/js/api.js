// One fetch wrapper: adds the right credential, parses OpenAI-shaped errors, tells "route absent" apart.

import { routes } from "./endpoints.js";
import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.error ? body.error : {};
    super(typeof detail.message === "string" ? detail.message : `request failed (${status})`);
    this.status = status;
    this.code = detail.code;
    this.param = detail.param;
  }

  // The deployment has no such route yet (the framework's own 404/405, not a resource the API looked up).
  get routeMissing() {
    return (this.status === 404 || this.status === 405) && (typeof this.code === "number" || this.message === "Not Found");
  }
}

function credential(as) {
  if (as === "admin") return session.admin()?.key;
  if (as === "user") return session.user()?.secret;
  return undefined;
}

async function send(path, { method = "GET", body, as = "user", query, headers = {} }) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const all = { accept: "application/json", ...headers };
  const secret = credential(as);
  if (secret) all.authorization = `Bearer ${secret}`;
  if (body !== undefined) all["content-type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { response, data };
}

// A session access token expires quickly; one refresh is tried before the caller sees the 401.
async function refreshed() {
  const user = session.user();
  if (!user || user.kind !== "token" || !user.refresh) return false;
  const { response, data } = await send(routes.refresh, { method: "POST", as: "none", body: { refresh_token: user.refresh } });
  if (!response.ok || !data || !data.access_token) return false;
  session.updateToken(data.access_token, data.refresh_token);
  return true;
}

export async function call(path, options = {}) {
  let { response, data } = await send(path, options);
  if (response.status === 401 && (options.as ?? "user") === "user" && (await refreshed())) {
    ({ response, data } = await send(path, options));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// For pages built on routes that may not be deployed yet: null when the route is absent.
export async function callIfAvailable(path, options = {}) {
  try {
    return await call(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.routeMissing) return null;
    throw error;
  }
}

export function idempotencyKey() {
  return crypto.randomUUID();
}
