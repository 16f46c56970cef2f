// The preview chat: write as the customer (or as the AI, with a confidence) into the preview
// environment, and see the handoff message and the escalation the saved draft produces.

import { $, announce, h, recall, remember, replace } from "./dom.js";
import { STATUS, TRIGGER_KIND, URGENCY, dateTime, label, percent, timeOfDay } from "./format.js";
import { ApiError, api, requireSession } from "./session.js";
import { mountShell } from "./shell.js";

const session = await requireSession();
const params = new URLSearchParams(location.search);
const agent = (params.get("agent") || recall("agent", "") || "").trim();
const KEY = `escalator.preview.${agent}`;
const FAST_POLL_MS = 1000;
const FAST_POLL_FOR_MS = 30000;

const state = {
  conversationId: null,
  messages: [],
  handoffs: [],
  escalations: [],
  draft: null,
  signature: "",
  pollUntil: 0,
  pollTimer: null,
};

function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (saved?.conversationId) {
      state.conversationId = saved.conversationId;
      state.messages = saved.messages || [];
    }
  } catch {
    // a fresh conversation then
  }
}

function persist() {
  sessionStorage.setItem(
    KEY,
    JSON.stringify({ conversationId: state.conversationId, messages: state.messages }),
  );
}

// --- rendering --------------------------------------------------------------------------------

function renderLog() {
  const entries = [
    ...state.messages.map((message) => ({ at: message.sent_at, kind: "message", message })),
    ...state.handoffs.map((handoff) => ({ at: handoff.occurred_at, kind: "handoff", handoff })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const log = $("#chat-log");
  if (!entries.length) {
    replace(
      log,
      h(
        "li",
        { class: "chat-empty" },
        "Write the first customer message, for example: ",
        h("q", { text: "I want a refund NOW, this is ridiculous" }),
      ),
    );
    return;
  }
  replace(
    log,
    ...entries.map((entry) =>
      entry.kind === "message"
        ? h(
            "li",
            { class: `message role-${entry.message.role}` },
            h(
              "div",
              { class: "byline" },
              h("strong", { text: entry.message.role === "ai" ? "AI" : "Customer" }),
              h("time", { datetime: entry.message.sent_at, text: timeOfDay(entry.message.sent_at) }),
              entry.message.ai_confidence !== null && entry.message.ai_confidence !== undefined
                ? h("span", { text: `confidence ${percent(entry.message.ai_confidence)}` })
                : null,
            ),
            h("div", { class: "text", text: entry.message.text }),
          )
        : h(
            "li",
            { class: "handoff" },
            h("strong", {
              text:
                entry.handoff.kind === "handoff"
                  ? "Handed over to a human — the customer is told:"
                  : "Handed back to the AI",
            }),
            entry.handoff.message ? h("span", { text: entry.handoff.message }) : null,
          ),
    ),
  );
  log.scrollTop = log.scrollHeight;
}

function renderState() {
  $("#conversation-id").textContent = state.conversationId || "new conversation";
  const last = state.handoffs[state.handoffs.length - 1];
  const paused = last?.kind === "handoff";
  const chip = $("#ai-state");
  chip.textContent = paused ? "AI paused: human handoff" : "AI active";
  chip.className = `chip ${paused ? "env-preview" : "outline"}`;
}

function routedTo(escalation) {
  if (escalation.unrouted) return "nobody (no supervisor matched)";
  return escalation.suggested_assignee || "supervisors";
}

function renderOutcome() {
  const outcome = $("#outcome");
  if (!state.escalations.length) {
    replace(
      outcome,
      h("p", {
        class: "muted",
        text: state.messages.length
          ? "No escalation yet. It appears here within moments of a message that triggers one."
          : "Escalations of this conversation appear here.",
      }),
    );
    return;
  }
  replace(
    outcome,
    ...state.escalations.map((escalation) =>
      h(
        "div",
        { class: "notice" },
        h(
          "div",
          { class: "row" },
          h("span", { class: `chip urgency-${escalation.urgency}`, text: URGENCY[escalation.urgency] }),
          h("span", { class: `chip status-${escalation.status}`, text: STATUS[escalation.status] }),
        ),
        h("p", { class: "mt", text: escalation.reason }),
        h("p", {
          class: "muted",
          text: `${TRIGGER_KIND[escalation.trigger.kind] || label(escalation.trigger.kind)} · ${
            escalation.trigger.detail
          } · score ${percent(escalation.trigger.score)}`,
        }),
        h("p", {
          class: "muted",
          text: `Routed to ${routedTo(escalation)} · ${dateTime(escalation.detected_at)}`,
        }),
        h(
          "p",
          { class: "mt" },
          h("a", {
            href: `/queue?environment=preview&escalation=${encodeURIComponent(escalation.escalation_id)}`,
            text: "Open in the Preview Queue",
          }),
        ),
      ),
    ),
  );
}

function renderDraft() {
  const draft = state.draft;
  if (!draft) return;
  const config = draft.config;
  const insert = (text) => {
    const area = $("#message-text");
    area.value = area.value ? `${area.value} ${text}` : text;
    area.focus();
  };
  replace(
    $("#draft"),
    config.enabled
      ? null
      : h("p", {
          class: "notice warning",
          text: "Escalation is disabled in the draft: nothing escalates until you enable it and save.",
        }),
    h("p", {
      class: "muted",
      text: draft.version ? `Draft version ${draft.version}.` : "Never saved: the defaults apply.",
    }),
    h("h3", { text: "Keywords" }),
    h(
      "div",
      { class: "row" },
      config.escalation_keywords.map((keyword) =>
        h("button", {
          type: "button",
          class: "small",
          text: keyword,
          "aria-label": `Insert keyword ${keyword}`,
          onclick: () => insert(keyword),
        }),
      ),
    ),
    h("h3", { text: "Confidence threshold" }),
    h("p", {
      text:
        `An AI reply below ${Number(config.escalation_threshold).toFixed(2)} escalates: ` +
        "write as the AI with a lower confidence.",
    }),
    h("h3", { text: "Turn limit" }),
    h("p", {
      text: `The conversation escalates after ${config.max_ai_turns_before_escalation} AI replies.`,
    }),
    config.trigger_conditions.length ? h("h3", { text: "Trigger conditions" }) : null,
    config.trigger_conditions.length
      ? h(
          "ul",
          {},
          config.trigger_conditions.map((condition) =>
            h("li", {}, h("strong", { text: condition.label }), `: ${condition.description}`),
          ),
        )
      : null,
  );
  updateConfidenceHint();
}

function updateConfidenceHint() {
  const value = Number($("#confidence").value);
  $("#confidence-value").textContent = value.toFixed(2);
  const threshold = state.draft ? Number(state.draft.config.escalation_threshold) : null;
  $("#confidence-hint").textContent =
    threshold === null
      ? ""
      : value < threshold
        ? `Below the draft threshold (${threshold.toFixed(2)}): this reply escalates.`
        : `At or above the draft threshold (${threshold.toFixed(2)}).`;
}

function renderAll() {
  renderState();
  renderLog();
  renderOutcome();
}

// --- talking to the API -----------------------------------------------------------------------

async function refresh() {
  const id = state.conversationId;
  if (!id) return;
  try {
    const conversation = await api(
      `/api/v1/preview/conversations/${encodeURIComponent(id)}?agent_id=${encodeURIComponent(agent)}`,
    );
    if (state.conversationId !== id) return; // a new conversation started meanwhile
    const signature = JSON.stringify([
      conversation.handoffs.map((handoff) => handoff.event_id),
      conversation.escalations.map((escalation) => [escalation.escalation_id, escalation.status]),
    ]);
    if (signature === state.signature) return;
    const escalated = conversation.escalations.length > state.escalations.length;
    state.signature = signature;
    state.handoffs = conversation.handoffs;
    state.escalations = conversation.escalations;
    renderAll();
    if (escalated) announce("The conversation escalated to a human supervisor.");
  } catch {
    // the next poll tries again
  }
}

function poll() {
  clearTimeout(state.pollTimer);
  const fast = Date.now() < state.pollUntil;
  state.pollTimer = setTimeout(
    async () => {
      await refresh();
      poll();
    },
    fast ? FAST_POLL_MS : 10000,
  );
}

function role() {
  return document.querySelector("input[name=role]:checked").value;
}

async function send(event) {
  event.preventDefault();
  const text = $("#message-text").value;
  const error = $("#send-error");
  replace(error);
  if (!text.trim()) {
    replace(error, h("p", { class: "field-error", text: "Write a message first." }));
    $("#message-text").focus();
    return;
  }
  const button = $("#send");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const body = {
      agent_id: agent,
      conversation_id: state.conversationId,
      role: role(),
      text,
      customer: { id: `preview-${session.sub}`, name: "Preview Customer", locale: navigator.language },
    };
    if (body.role === "ai") body.ai_confidence = Number($("#confidence").value);
    const message = await api("/api/v1/preview/messages", { method: "POST", body });
    state.conversationId = message.conversation_id;
    state.messages.push({
      message_id: message.message_id,
      role: message.role,
      text: message.text,
      sent_at: message.sent_at,
      ai_confidence: message.ai_confidence,
    });
    persist();
    $("#message-text").value = "";
    renderAll();
    state.pollUntil = Date.now() + FAST_POLL_FOR_MS;
    poll();
  } catch (failure) {
    const text =
      failure instanceof ApiError && failure.errors.length
        ? failure.errors.map((e) => `${e.field}: ${e.msg}`).join("; ")
        : failure.message;
    replace(error, h("p", { class: "notice error", text: `Not sent: ${text}` }));
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    $("#message-text").focus();
  }
}

// --- start ------------------------------------------------------------------------------------

mountShell("preview", session);

function pickAgent() {
  $("#agent-picker").hidden = false;
  $("#picker-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#picker-agent").value.trim();
    if (value) location.assign(`/preview?agent=${encodeURIComponent(value)}`);
    else $("#picker-agent").focus();
  });
  $("#picker-agent").focus();
}

if (!agent) {
  $("#page-sub").textContent = "Choose the agent to test.";
  pickAgent();
} else if (!session.isAdmin) {
  replace(
    $("#banner"),
    h("p", { class: "notice warning", text: "The preview chat needs role admin." }),
  );
} else {
  remember("agent", agent);
  mountShell("preview", session);
  $("#page-sub").textContent = `Agent ${agent} · tenant ${session.tenant}`;
  $("#settings-link").href = `/settings?agent=${encodeURIComponent(agent)}`;
  $("#preview").hidden = false;
  restore();
  renderAll();
  for (const input of document.querySelectorAll("input[name=role]")) {
    input.addEventListener("change", () => {
      const ai = role() === "ai";
      $("#confidence-field").hidden = !ai;
      $("#message-label").textContent = ai ? "AI reply" : "Customer message";
    });
  }
  $("#confidence").addEventListener("input", updateConfidenceHint);
  $("#composer").addEventListener("submit", send);
  $("#message-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      $("#composer").requestSubmit();
    }
  });
  $("#new-conversation").addEventListener("click", () => {
    state.conversationId = null;
    state.messages = [];
    state.handoffs = [];
    state.escalations = [];
    state.signature = "";
    sessionStorage.removeItem(KEY);
    renderAll();
    $("#message-text").focus();
    announce("New conversation.");
  });
  try {
    state.draft = await api(`/api/v1/agents/${encodeURIComponent(agent)}/escalation-config`);
    renderDraft();
  } catch (error) {
    replace(
      $("#banner"),
      h("p", { class: "notice error", text: `Could not load the draft settings: ${error.message}` }),
    );
  }
  await refresh();
  renderAll();
  poll();
}
