// Sign-in: an OIDC provider (authorization code + PKCE, all in the browser), the local
// development form, or a pasted bearer token. The token goes to sessionStorage.

import { $, h, recall, remember } from "./dom.js";
import { clearSession, decodeJwt, getSession, saveSession } from "./session.js";
import { logo } from "./shell.js";

const PENDING = "escalator.oidc";
const params = new URLSearchParams(location.search);

function safeNext(value) {
  // Only a path of this site: never an open redirect.
  if (value && value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\")) {
    return value;
  }
  return "/queue";
}

function showError(text) {
  $("#signin-error").replaceChildren(text ? h("p", { class: "notice error", text }) : "");
}

function showStatus(text) {
  $("#signin-status").replaceChildren(text ? h("p", { class: "notice", text }) : "");
}

function usable(token) {
  const claims = decodeJwt(token);
  if (!claims) return "That is not a JWT.";
  if (!claims.tenant_id || !claims.role) {
    return "The token has no tenant_id or role claim: ask your administrator to add them for Escalator.";
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) {
    return "The token has expired.";
  }
  return null;
}

function finish(session, next) {
  const problem = usable(session.token);
  if (problem) {
    clearSession();
    showError(problem);
    return;
  }
  saveSession(session);
  location.replace(safeNext(next));
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function discover(issuer) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`the provider's discovery document answered ${response.status}`);
  const document = await response.json();
  if (document.issuer && document.issuer.replace(/\/$/, "") !== issuer) {
    throw new Error("the discovery document names another issuer");
  }
  if (!document.authorization_endpoint || !document.token_endpoint) {
    throw new Error("the discovery document lacks the authorization or token endpoint");
  }
  return document;
}

function redirectUri(oidc) {
  return `${location.origin}${oidc.redirect_path}`;
}

async function startOidc(oidc, next) {
  const provider = await discover(oidc.issuer);
  const verifier = randomString(48);
  const challenge = base64url(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  const pending = {
    verifier,
    state: randomString(24),
    nonce: randomString(24),
    next,
    tokenEndpoint: provider.token_endpoint,
    endSessionEndpoint: provider.end_session_endpoint || null,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(provider.authorization_endpoint);
  const query = {
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(oidc),
    scope: oidc.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  if (oidc.audience) query.audience = oidc.audience;
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  location.assign(url.toString());
}

async function finishOidc(oidc) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  // The code must not stay in the address bar or the history.
  history.replaceState(null, "", "/signin");
  if (params.get("error")) {
    throw new Error(params.get("error_description") || params.get("error"));
  }
  if (!pending || params.get("state") !== pending.state) {
    throw new Error("this sign-in was not started here (state mismatch); try again");
  }
  const response = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(oidc),
      client_id: oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(answer.error_description || answer.error || `token endpoint: ${response.status}`);
  }
  if (answer.id_token) {
    const claims = decodeJwt(answer.id_token);
    if (!claims || claims.nonce !== pending.nonce) throw new Error("the ID token's nonce does not match");
  }
  const token = answer[oidc.token];
  if (!token) throw new Error(`the provider answered no ${oidc.token}`);
  finish(
    {
      token,
      method: "oidc",
      idToken: answer.id_token || null,
      endSessionEndpoint: pending.endSessionEndpoint,
      clientId: oidc.client_id,
    },
    pending.next,
  );
}

async function main() {
  $("#brand").prepend(logo());
  const next = safeNext(params.get("next"));
  let config;
  try {
    const response = await fetch("/api/v1/auth/config", { headers: { Accept: "application/json" } });
    config = await response.json();
  } catch {
    showError("The server could not be reached. Reload to try again.");
    return;
  }

  if (params.has("signed_out")) showStatus("You have signed out.");
  else if (getSession() && !params.has("code")) {
    location.replace(next);
    return;
  }

  if (config.mode === "oidc") {
    const oidc = config.oidc;
    $("#oidc").hidden = false;
    $("#oidc-text").textContent = `Sign in with your organisation's account (${new URL(oidc.issuer).host}).`;
    $("#token-box").hidden = true;
    $("#oidc-start").addEventListener("click", async (event) => {
      event.currentTarget.setAttribute("aria-busy", "true");
      try {
        await startOidc(oidc, next);
      } catch (error) {
        event.currentTarget.removeAttribute("aria-busy");
        showError(`Sign-in could not start: ${error.message}`);
      }
    });
    if (params.has("code") || params.has("error")) {
      showStatus("Signing you in…");
      try {
        await finishOidc(oidc);
      } catch (error) {
        showStatus("");
        showError(`Sign-in failed: ${error.message}`);
      }
    }
    return;
  }

  if (config.mode === "local") {
    const form = $("#local-form");
    form.hidden = false;
    $("#local-sub").value = recall("signin.sub", "alice");
    $("#local-tenant").value = recall("signin.tenant", "demo");
    const role = recall("signin.role", "admin");
    for (const input of form.querySelectorAll("input[name=role]")) input.checked = input.value === role;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError("");
      const body = {
        sub: $("#local-sub").value.trim(),
        tenant_id: $("#local-tenant").value.trim(),
        role: form.querySelector("input[name=role]:checked")?.value || "supervisor",
      };
      if (!body.sub || !body.tenant_id) {
        showError("Enter a supervisor ID and a tenant.");
        (body.sub ? $("#local-tenant") : $("#local-sub")).focus();
        return;
      }
      const response = await fetch("/api/v1/auth/dev-token", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const messages = (answer.errors || []).map((error) => `${error.field}: ${error.msg}`);
        showError(messages.join("; ") || answer.detail || `Sign-in failed (${response.status}).`);
        return;
      }
      remember("signin.sub", body.sub);
      remember("signin.tenant", body.tenant_id);
      remember("signin.role", body.role);
      finish({ token: answer.access_token, method: "local" }, next);
    });
    $("#local-sub").focus();
  } else {
    $("#token-box").open = true;
  }

  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showError("");
    const token = $("#token-input").value.trim().replace(/^Bearer\s+/i, "");
    finish({ token, method: "token" }, next);
  });
}

main();
