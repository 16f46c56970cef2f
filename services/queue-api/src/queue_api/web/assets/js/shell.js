// The header every page shares: brand, navigation, who is signed in, sign out.

import { h, recall, replace } from "./dom.js";
import { signOut } from "./session.js";

const LOGO = `<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="7" fill="#1d4ed8"/><path d="M8 22h5v-5h5v-5h6" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/><path d="M20 8h5v5" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

export function logo() {
  const template = document.createElement("template");
  template.innerHTML = LOGO; // a constant of this file, never data
  return template.content.firstElementChild;
}

/** Fill #app-header. ``active``: "queue" | "settings" | "preview" | "tuning". */
export function mountShell(active, session) {
  const header = document.getElementById("app-header");
  if (!header) return;
  const agent = recall("agent", "");
  const withAgent = (path) => (agent ? `${path}?agent=${encodeURIComponent(agent)}` : path);
  const links = [
    ["queue", "/queue", "Queue"],
    ["settings", withAgent("/settings"), "Settings"],
    ["preview", withAgent("/preview"), "Preview chat"],
    // The tuning report is for admins (it covers every escalation of the agent).
    session?.isAdmin ? ["tuning", withAgent("/tuning"), "Tuning"] : null,
  ].filter(Boolean);
  replace(header, 
    h("a", { class: "brand", href: "/queue" }, logo(), h("span", { text: "Escalator" })),
    h(
      "nav",
      { class: "app-nav", "aria-label": "Main" },
      h(
        "ul",
        {},
        links.map(([key, href, label]) =>
          h(
            "li",
            {},
            h("a", { href, "aria-current": key === active ? "page" : null, text: label }),
          ),
        ),
      ),
    ),
    session
      ? h(
          "div",
          { class: "user-menu" },
          h(
            "span",
            { class: "who", title: `${session.sub} in ${session.tenant} (${session.role})` },
            h("strong", { text: session.sub }),
            ` · ${session.tenant} · ${session.role}`,
          ),
          h("button", { type: "button", class: "small", onclick: signOut, text: "Sign out" }),
        )
      : null,
  );
}
