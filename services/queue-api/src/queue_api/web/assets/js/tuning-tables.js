// The tuning report's tables: false escalations, missed escalations, notification gaps, and
// the conversations never escalated, each with "Mark as missed".

import { h, replace } from "./dom.js";
import { TRIGGER_KIND, categoryLabel, dateTime, label } from "./format.js";
import { percentText } from "./tuning-charts.js";

function table(caption, headers, rows) {
  return h(
    "table",
    { class: "data-table" },
    h("caption", { class: "visually-hidden", text: caption }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((text) => h("th", { scope: "col", text })),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function empty(text) {
  return h("p", { class: "muted", text });
}

function frustration(value, watchLevel) {
  if (value === null || value === undefined)
    return h("span", { class: "muted", text: "Not scored" });
  return h("span", { class: value >= watchLevel ? "score-high" : "", text: percentText(value, 0) });
}

function queueLink(escalation, environment) {
  const href = `/queue?environment=${environment}&escalation=${encodeURIComponent(escalation.escalation_id)}`;
  return h("a", { href, text: escalation.conversation_id });
}

export function renderFalse(container, report) {
  const items = report.false_escalations.items;
  if (!items.length) {
    replace(
      container,
      empty("No completed escalation of this period was flagged as one the AI could have handled."),
    );
    return;
  }
  const rows = items.map((item) =>
    h(
      "tr",
      { dataset: { escalation: item.escalation_id } },
      h("td", {}, queueLink(item, report.environment)),
      h("td", { text: dateTime(item.detected_at) }),
      h("td", {
        text: `${TRIGGER_KIND[item.trigger.kind] || item.trigger.kind} · ${item.trigger.detail}`,
      }),
      h("td", { text: categoryLabel(item.category) }),
      h("td", { text: item.assigned_to || "–" }),
      h("td", { class: "wrap", text: item.resolution_note || "" }),
    ),
  );
  replace(
    container,
    table(
      "False escalations",
      ["Conversation", "Detected", "Trigger", "Category", "Completed by", "Resolution note"],
      rows,
    ),
  );
}

function source(item) {
  if (item.missed_marked_by) {
    return h(
      "span",
      {},
      h("span", { class: "chip outline", text: `Marked by ${item.missed_marked_by}` }),
      item.missed_note ? h("span", { class: "muted note", text: ` “${item.missed_note}”` }) : null,
    );
  }
  return h("span", { class: "chip urgency-high", text: "Frustrated customer" });
}

export function renderMissed(container, report) {
  const missed = report.missed_escalations;
  if (!missed.items.length) {
    replace(container, empty("No conversation of this period looks like a missed escalation."));
    return;
  }
  const rows = missed.items.map((item) =>
    h(
      "tr",
      { dataset: { conversation: item.conversation_id } },
      h("td", { text: item.conversation_id }),
      h("td", { text: dateTime(item.last_message_at) }),
      h("td", {}, frustration(item.peak_frustration, missed.watch_level)),
      h("td", {}, source(item)),
      h("td", { class: "wrap", text: item.customer_excerpt || "" }),
    ),
  );
  replace(
    container,
    table(
      "Missed escalations",
      ["Conversation", "Last message", "Peak frustration", "Why", "The customer's last words"],
      rows,
    ),
  );
}

const GAP = {
  not_notified: "Scopes match, never notified",
  no_matching_escalations: "Scopes match no escalation",
};

function scopes(supervisor) {
  const parts = [
    ...supervisor.categories.map(categoryLabel),
    ...supervisor.topics.map((topic) => `topic ${topic}`),
    ...supervisor.areas.map((area) => `area ${area}`),
  ];
  return parts.length ? parts.join(", ") : "Everything";
}

export function renderGaps(container, report) {
  const gaps = report.notification_gaps;
  const unrouted = gaps.unrouted_escalations
    ? h("p", {
        class: "notice warning",
        text:
          gaps.unrouted_escalations === 1
            ? "1 escalation matched no supervisor: nobody was emailed about it."
            : `${gaps.unrouted_escalations} escalations matched no supervisor: nobody was emailed about them.`,
      })
    : null;
  if (!gaps.supervisors.length) {
    replace(container, unrouted, empty("The agent's configuration has no active supervisor."));
    return;
  }
  const rows = gaps.supervisors.map((s) =>
    h(
      "tr",
      { dataset: { supervisor: s.supervisor_id }, class: s.gap ? "has-gap" : null },
      h(
        "td",
        {},
        h("strong", { text: s.name }),
        h("span", { class: "muted", text: ` (${s.supervisor_id})` }),
      ),
      h("td", { class: "wrap", text: scopes(s) }),
      h("td", { class: "num", text: s.matching_escalations }),
      h("td", { class: "num", text: s.notified }),
      h("td", { class: "num", text: s.owned }),
      h(
        "td",
        {},
        s.gap
          ? h("span", { class: "chip breached", text: GAP[s.gap] })
          : h("span", { class: "chip status-completed", text: "OK" }),
      ),
    ),
  );
  replace(
    container,
    unrouted,
    table(
      "Notification gaps",
      ["Supervisor", "Scopes", "Matching", "Notified", "Owned", "Gap"],
      rows,
    ),
  );
}

/** The conversations never escalated, a page at a time, each with "Mark as missed" or
 * "Unmark"; ``onToggle(conversationId, marked)`` does the marking and re-renders. */
export function renderNotEscalated(container, page, { watchLevel, onToggle, onMore }) {
  if (!page.items.length) {
    replace(container, empty("Every conversation of this period escalated, or none was recorded."));
    return;
  }
  const rows = page.items.map((item) => {
    const marked = Boolean(item.missed_marked_by);
    const button = h("button", {
      type: "button",
      class: marked ? "small" : "small primary",
      text: marked ? "Unmark" : "Mark as missed",
      "aria-label": `${marked ? "Unmark" : "Mark as missed"}: ${item.conversation_id}`,
      dataset: { conversation: item.conversation_id },
      onclick: () => onToggle(item.conversation_id, marked, button),
    });
    return h(
      "tr",
      { dataset: { conversation: item.conversation_id } },
      h("td", { text: item.conversation_id }),
      h("td", { text: dateTime(item.last_message_at) }),
      h("td", { class: "num", text: item.message_count }),
      h("td", {}, frustration(item.peak_frustration, watchLevel)),
      h("td", { class: "wrap", text: item.customer_excerpt || "" }),
      h(
        "td",
        {},
        marked ? h("span", { class: "muted", text: `Marked by ${item.missed_marked_by} ` }) : null,
        button,
      ),
    );
  });
  const more =
    page.next_offset !== null
      ? h("button", {
          type: "button",
          class: "small mt",
          text: `Show more (${page.total - page.items.length} left)`,
          onclick: onMore,
        })
      : null;
  replace(
    container,
    h("p", { class: "muted", text: `${page.total} conversations not escalated.` }),
    table(
      "Conversations not escalated",
      [
        "Conversation",
        "Last message",
        "Messages",
        "Peak frustration",
        "The customer's last words",
        label("action"),
      ],
      rows,
    ),
    more,
  );
}
