// Validation messages next to their fields, from a 422 problem+json `errors[].loc/field`, plus
// a summary at the top that links to each of them.

import { $, $$, h } from "./dom.js";

const SECTION = {
  trigger_conditions: "Trigger condition",
  supervisors: "Supervisor",
  webhooks: "Webhook",
  escalation_keywords: "Keyword",
};

const FIELD = {
  enabled: "Escalation",
  escalation_threshold: "Confidence threshold",
  escalation_keywords: "Escalation keywords",
  max_ai_turns_before_escalation: "Turn limit",
  idle_timeout_seconds: "Idle timeout",
  unclaimed_sla_seconds: "Claim SLA",
  trigger_conditions: "Trigger conditions",
  escalation_response: "Escalation response",
  summary_language: "Summary language",
  supervisors: "Supervisors",
  webhooks: "Webhooks",
  label: "Label",
  description: "Description",
  id: "ID",
  name: "Name",
  email: "Email",
  active: "Active",
  categories: "Categories",
  topics: "Topics",
  areas: "Areas",
  max_concurrent: "Max concurrent",
  url: "URL",
  secret: "Secret",
  event_types: "Event types",
};

/** "supervisors.0.email" → "Supervisor 1 · Email". */
export function fieldLabel(path) {
  const parts = path.split(".");
  const words = [];
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (SECTION[part] && /^\d+$/.test(parts[i + 1] ?? "")) {
      words.push(`${SECTION[part]} ${Number(parts[i + 1]) + 1}`);
      i += 1;
    } else if (/^\d+$/.test(part)) {
      words.push(`item ${Number(part) + 1}`);
    } else {
      words.push(FIELD[part] || part.replace(/_/g, " "));
    }
  }
  return words.join(" · ") || "Settings";
}

export function message(error, path) {
  const last = path.split(".").filter((part) => !/^\d+$/.test(part)).pop();
  const type = error.type || "";
  if (type === "string_pattern_mismatch") {
    if (last === "email") return "Enter a valid email address, like name@example.com.";
    if (last === "url") return "Enter a URL that starts with http:// or https://.";
    if (last === "secret") return "A secret looks like whsec_ followed by base64 (16+ characters).";
    if (last === "summary_language") return "Enter a language tag such as en or pt-BR.";
  }
  if (type === "string_too_short" || type === "missing") return "This is required.";
  if (type === "too_long" && last === "escalation_keywords") return "Use at most 30 keywords.";
  const text = String(error.msg || "is not valid").replace(/^Value error, /, "");
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}

function pathOf(error) {
  if (error.field) return error.field;
  return (error.loc || []).filter((part) => part !== "body").join(".");
}

/** The element showing ``path``, or the nearest enclosing one that does. */
function target(form, path) {
  const parts = path.split(".");
  while (parts.length) {
    const found = form.querySelector(`[data-field="${CSS.escape(parts.join("."))}"]`);
    if (found) return found;
    parts.pop();
  }
  return null;
}

const CONTROL = "input, select, textarea";

export function clearErrors(form) {
  for (const element of $$(".field-error[data-generated]", form)) element.remove();
  for (const element of $$("[aria-invalid=true]", form)) {
    element.removeAttribute("aria-invalid");
    const original = element.dataset.describedby;
    if (original) element.setAttribute("aria-describedby", original);
    else element.removeAttribute("aria-describedby");
  }
  $("#error-summary").replaceChildren();
}

let counter = 0;

function attach(element, text) {
  counter += 1;
  const id = `error-${counter}`;
  const note = h("p", { class: "field-error", id, "data-generated": true, text });
  let control = element.matches(CONTROL) ? element : null;
  if (!control && element.matches(".tag")) control = element;
  if (control) {
    if (!control.hasAttribute("aria-invalid")) {
      control.dataset.describedby = control.getAttribute("aria-describedby") || "";
    }
    control.setAttribute("aria-invalid", "true");
    const described = `${control.getAttribute("aria-describedby") || ""} ${id}`.trim();
    control.setAttribute("aria-describedby", described);
    const anchor = control.matches(".tag")
      ? control.closest("[data-field]:not(.tag)")?.querySelector(".tag-input")
      : control.closest(".threshold, .tag-input, .switch, .check") || control;
    (anchor || control).after(note);
    return control.id ? control.id : null;
  }
  // A section or an item: the message goes first in it, and the link focuses its first control.
  const head = element.querySelector(":scope > .item-head");
  if (head) head.after(note);
  else if (element.tagName === "FIELDSET") element.prepend(note);
  else element.append(note);
  const first = element.querySelector(CONTROL) || element.querySelector("button");
  note.tabIndex = -1;
  return first?.id || id;
}

/** Show every error; returns how many were shown. Focuses the summary. */
export function showErrors(form, errors, heading) {
  clearErrors(form);
  const items = [];
  for (const error of errors) {
    const path = pathOf(error);
    const text = message(error, path);
    const element = target(form, path);
    const focusId = element ? attach(element, text) : null;
    const title = `${fieldLabel(path)}: ${text}`;
    items.push(
      h(
        "li",
        {},
        focusId
          ? h("a", {
              href: `#${focusId}`,
              text: title,
              onclick: (event) => {
                event.preventDefault();
                const focus = document.getElementById(focusId);
                focus?.scrollIntoView({ block: "center" });
                focus?.focus();
              },
            })
          : title,
      ),
    );
  }
  const summary = $("#error-summary");
  summary.replaceChildren(
    h(
      "div",
      { class: "notice error", role: "alert" },
      h("h2", { text: heading }),
      h("ul", {}, items),
    ),
  );
  summary.focus();
  return items.length;
}
