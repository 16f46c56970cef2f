// The signed-in supervisor: a bearer token kept in sessionStorage (gone with the tab), and the
// one place that talks HTTP to the API (problem+json errors become ApiError).

const KEY = "escalator.session";
const SKEW_SECONDS = 15;

export function decodeJwt(token) {
  try {
    const part = token.split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The current session, or null when there is none or its token expired. */
export function getSession() {
  let stored;
  try {
    stored = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    stored = null;
  }
  if (!stored || typeof stored.token !== "string") return null;
  const claims = decodeJwt(stored.token);
  if (!claims) return null;
  if (typeof claims.exp === "number" && claims.exp - SKEW_SECONDS < Date.now() / 1000) {
    return null;
  }
  return {
    ...stored,
    claims,
    sub: String(claims.sub ?? ""),
    tenant: String(claims.tenant_id ?? ""),
    role: String(claims.role ?? ""),
    isAdmin: claims.role === "admin",
  };
}

/** Keep a token: {token, method: "local"|"oidc"|"token", idToken?, endSessionEndpoint?}. */
export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

export function signInUrl(next = location.pathname + location.search) {
  return `/signin?next=${encodeURIComponent(next)}`;
}

/** The session, or a redirect to the sign-in page (the promise then never settles). */
export function requireSession() {
  const session = getSession();
  if (session) return session;
  clearSession();
  location.replace(signInUrl());
  return new Promise(() => {});
}

export function signOut() {
  const session = getSession();
  clearSession();
  if (session?.method === "oidc" && session.endSessionEndpoint) {
    const url = new URL(session.endSessionEndpoint);
    if (session.idToken) url.searchParams.set("id_token_hint", session.idToken);
    url.searchParams.set("post_logout_redirect_uri", `${location.origin}/signin`);
    if (session.clientId) url.searchParams.set("client_id", session.clientId);
    location.assign(url.toString());
    return;
  }
  location.assign("/signin?signed_out=1");
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

/**
 * Call the API: {status, headers, data}. Throws ApiError on a network failure (status 0) or a
 * non-2xx answer; a 401 sends the user to sign in again.
 */
export async function request(path, { method = "GET", body, headers = {}, signal } = {}) {
  const session = getSession();
  if (!session) {
    location.replace(signInUrl());
    throw new ApiError(401, { title: "Unauthorized", detail: "sign in again" });
  }
  const init = {
    method,
    signal,
    headers: { Accept: "application/json", Authorization: `Bearer ${session.token}`, ...headers },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, {
      title: "Network error",
      detail: "The server could not be reached. Check your connection and try again.",
    });
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (response.status === 401) {
    clearSession();
    location.replace(signInUrl());
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, headers: response.headers, data };
}

export async function api(path, options) {
  return (await request(path, options)).data;
}
