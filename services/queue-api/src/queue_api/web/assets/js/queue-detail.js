// The selected escalation: who and what, the actions its state allows, why it escalated, the
// customer, the conversation and the audit timeline. The action buttons and the completion form
// are stable elements (only shown or hidden), so focus and a half-written note survive updates.

import { $, append, clear, h } from "./dom.js";
import {
  AUDIT_ACTION,
  STATUS,
  TRIGGER_KIND,
  URGENCY,
  categoryLabel,
  customerName,
  dateTime,
  label,
  percent,
  timeAgo,
  timeOfDay,
} from "./format.js";

function chip(className, text) {
  return h("span", { class: `chip ${className}`, text });
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
  );
}

function score(value) {
  return h(
    "span",
    { class: "score" },
    h("meter", { min: "0", max: "1", value: String(value), "aria-hidden": "true" }),
    h("span", { text: percent(value) }),
  );
}

function renderHead(detail, session) {
  $("#detail-title").textContent = customerName(detail);
  $("#detail-meta").textContent =
    `Conversation ${detail.conversation_id} · agent ${detail.agent_id} · detected ${dateTime(
      detail.detected_at,
    )}`;
  append(clear($("#detail-chips")), [
    chip(`env-${detail.environment}`, detail.environment === "preview" ? "Preview" : "Published"),
    chip(`status-${detail.status}`, STATUS[detail.status] || detail.status),
    chip(`urgency-${detail.urgency}`, `${URGENCY[detail.urgency] || detail.urgency} urgency`),
    chip("outline", `Severity: ${label(detail.severity)}`),
    chip("outline", categoryLabel(detail.category)),
    chip("outline", `Topic: ${label(detail.topic)}`),
    chip("outline", `Area: ${label(detail.area)}`),
    detail.sla_breached_at ? chip("breached", "SLA breached") : null,
  ]);
  const me = session.sub;
  const parts = [];
  if (detail.status === "in_progress" && detail.assigned_to) {
    parts.push(
      detail.assigned_to === me
        ? `Claimed by you ${timeAgo(detail.claimed_at)}.`
        : `Claimed by ${detail.assigned_to} ${timeAgo(detail.claimed_at)}.`,
    );
  } else if (detail.status === "pending") {
    if (detail.unrouted) parts.push("No supervisor matched its scopes (visible to admins).");
    else if (detail.suggested_assignee) parts.push(`Suggested: ${detail.suggested_assignee}.`);
    if (detail.sla_deadline && !detail.sla_breached_at) {
      parts.push(`Claim by ${timeOfDay(detail.sla_deadline)} (SLA).`);
    }
  } else if (detail.status === "completed") {
    parts.push(
      detail.reassigned_to_ai
        ? `Handed back to the AI ${timeAgo(detail.completed_at)}.`
        : `Completed ${timeAgo(detail.completed_at)}${detail.assigned_to ? ` by ${detail.assigned_to}` : ""}.`,
    );
  }
  $("#detail-ownership").textContent = parts.join(" ");
}

function renderActions(detail, session) {
  const owner = detail.assigned_to === session.sub;
  const mayHandle = detail.status === "in_progress" && (owner || session.isAdmin);
  $("#act-claim").hidden = detail.status !== "pending";
  $("#act-complete").hidden = !mayHandle;
  $("#act-release").hidden = !mayHandle;
  $("#act-reassign").hidden = !(detail.status === "pending" || mayHandle);
  $("#act-summary").hidden = false;
  if (!mayHandle) $("#complete-form").hidden = true;
}

function latestSummary(detail) {
  const entries = (detail.audit || []).filter((entry) => entry.action === "summary_generated");
  return entries.length ? entries[entries.length - 1] : null;
}

function renderSummary(detail) {
  const entry = latestSummary(detail);
  const section = $("#sec-summary");
  section.hidden = !entry;
  if (!entry) return;
  const language = entry.detail?.language;
  append(clear($("#summary-body")), [
    h("p", { class: "summary-text", text: entry.detail?.text || "" }),
    h("p", {
      class: "muted mt",
      text: `Generated ${timeAgo(entry.at)} by ${entry.actor || "someone"}${
        language ? ` · language ${language}` : ""
      }${entry.detail?.method === "llm" ? " · language model" : ""}. Verify key facts in the conversation.`,
    }),
  ]);
}

function renderReason(detail) {
  const trigger = detail.trigger || {};
  const others = (detail.triggers || []).filter(
    (other) => !(other.kind === trigger.kind && other.detail === trigger.detail),
  );
  append(clear($("#reason-body")), [
    facts([
      ["Reason", detail.reason],
      ["Trigger", `${TRIGGER_KIND[trigger.kind] || label(trigger.kind)} · ${trigger.detail}`],
      ["Score", score(trigger.score ?? 0)],
      ["Turns", String(detail.turn_count)],
      [
        "Routed to",
        (detail.matched_supervisors || []).length
          ? detail.matched_supervisors
              .map((match) => `${match.name} (${match.reasons.join(", ") || "all"})`)
              .join("; ")
          : "Nobody matched",
      ],
    ]),
    others.length
      ? h(
          "div",
          { class: "mt" },
          h("h4", { class: "muted", text: "Also fired" }),
          h(
            "ul",
            { class: "triggers" },
            others.map((other) =>
              h(
                "li",
                {},
                h("span", { class: "kind", text: TRIGGER_KIND[other.kind] || label(other.kind) }),
                h("span", { text: other.detail }),
                score(other.score),
              ),
            ),
          ),
        )
      : null,
  ]);
}

function renderCustomer(detail) {
  const customer = detail.customer;
  const body = clear($("#customer-body"));
  if (!customer) {
    body.append(h("p", { class: "muted", text: "The chat backend sent no profile." }));
    return;
  }
  const attributes = Object.entries(customer.attributes || {}).map(([key, value]) => [
    label(key),
    typeof value === "object" ? JSON.stringify(value) : String(value),
  ]);
  body.append(
    facts([
      ["Name", customer.name],
      ["Email", customer.email ? h("a", { href: `mailto:${customer.email}`, text: customer.email }) : null],
      ["Customer ID", customer.id],
      ["Locale", customer.locale],
      ...attributes,
    ]),
  );
}

function renderMessages(detail) {
  const latestFirst = $("#latest-first").checked;
  const messages = [...(detail.transcript || [])];
  if (latestFirst) messages.reverse();
  const list = clear($("#messages"));
  list.setAttribute("aria-label", latestFirst ? "Messages, latest first" : "Messages, oldest first");
  if (!messages.length) {
    list.append(h("li", { class: "muted", text: "No messages." }));
    return;
  }
  const who = { customer: customerName(detail), ai: "AI", human: "Human agent" };
  for (const message of messages) {
    const trigger = message.message_id === detail.trigger_message_id;
    list.append(
      h(
        "li",
        { class: `message role-${message.role}${trigger ? " trigger" : ""}` },
        h(
          "div",
          { class: "byline" },
          h("strong", { text: who[message.role] || label(message.role) }),
          h("time", { datetime: message.sent_at, text: dateTime(message.sent_at) }),
          message.ai_confidence !== null && message.ai_confidence !== undefined
            ? h("span", { text: `confidence ${percent(message.ai_confidence)}` })
            : null,
          trigger ? h("span", { class: "chip urgency-high", text: "Triggered escalation" }) : null,
        ),
        h("div", { class: "text", text: message.text }),
      ),
    );
  }
}

function auditDetail(entry) {
  const detail = entry.detail || {};
  switch (entry.action) {
    case "detected":
      return detail.reason || "";
    case "routed":
      return detail.unrouted
        ? "No supervisor matched."
        : `To ${(detail.supervisors || []).join(", ") || "nobody"}`;
    case "completed":
      return [
        detail.resolution_note ? `Note: ${detail.resolution_note}` : "",
        detail.ai_could_have_handled ? "Marked: the AI could have handled it." : "",
      ]
        .filter(Boolean)
        .join("\n");
    case "released":
      return detail.owner ? `From ${detail.owner}` : "";
    case "sla_breached":
      return detail.offered_to?.length ? `Offered to ${detail.offered_to.join(", ")}` : "";
    case "summary_generated":
      return detail.language ? `Language ${detail.language}` : "";
    default:
      return "";
  }
}

function renderTimeline(detail) {
  const list = clear($("#timeline"));
  for (const entry of detail.audit || []) {
    const text = auditDetail(entry);
    list.append(
      h(
        "li",
        {},
        h("div", { class: "what", text: AUDIT_ACTION[entry.action] || label(entry.action) }),
        h(
          "div",
          { class: "when" },
          h("time", { datetime: entry.at, text: dateTime(entry.at) }),
          entry.actor ? ` · ${entry.actor}` : "",
        ),
        text ? h("div", { class: "detail", text }) : null,
      ),
    );
  }
}

export function renderDetail(detail, { session, changed }) {
  if (changed) {
    $("#detail-alert").replaceChildren();
    $("#complete-form").hidden = true;
    $("#resolution-note").value = "";
    $("#ai-could-have-handled").checked = false;
    $("#detail").scrollTop = 0;
  }
  renderHead(detail, session);
  renderActions(detail, session);
  renderSummary(detail);
  renderReason(detail);
  renderCustomer(detail);
  renderMessages(detail);
  renderTimeline(detail);
}
