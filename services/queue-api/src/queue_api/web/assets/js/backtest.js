// "Try this draft on the last 7 days": the settings as on screen (unsaved edits included) are
// replayed by the detector over the agent's stored conversations, next to the published
// settings. Nothing is saved or published by it.

import { $, announce, h, replace } from "./dom.js";
import { TRIGGER_KIND, URGENCY } from "./format.js";
import { ApiError, api } from "./session.js";

const DAYS = 7;
const LISTED = 50;

// The SVG namespace, as the HTML parser assigns it: no URL literal in the workspace's files.
const NS = (() => {
  const template = document.createElement("template");
  template.innerHTML = "<svg></svg>"; // a constant, never data
  return template.content.firstElementChild.namespaceURI;
})();

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  for (const child of children) {
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const percent = (rate) => `${Number((rate * 100).toFixed(1))}%`;
const triggerName = (kind) => TRIGGER_KIND[kind] ?? kind;

/** Escalations by deciding trigger: a pair of bars per trigger, draft above published. */
function triggerChart(draft, published) {
  const kinds = triggerKinds(draft, published);
  const row = 44;
  const left = 170;
  const width = 640;
  const height = 30 + row * Math.max(kinds.length, 1);
  const counts = (kind) => [draft.by_trigger[kind] ?? 0, published?.by_trigger[kind] ?? 0];
  const peak = Math.max(1, ...kinds.flatMap(counts));
  const length = (count) => ((width - left - 60) * count) / peak;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "backtest-chart",
    role: "img",
    "aria-label": "Escalations by trigger, draft and published (the table below has the figures)",
  });
  chart.append(
    svg("rect", { x: left, y: 4, width: 12, height: 12, class: "bar-draft" }),
    svg("text", { x: left + 18, y: 15, class: "legend" }, "Draft"),
    svg("rect", { x: left + 80, y: 4, width: 12, height: 12, class: "bar-published" }),
    svg("text", { x: left + 98, y: 15, class: "legend" }, "Published"),
  );
  kinds.forEach((kind, index) => {
    const top = 26 + index * row;
    chart.append(
      svg("text", { x: left - 8, y: top + 20, class: "axis", "text-anchor": "end" }, triggerName(kind)),
    );
    counts(kind).forEach((count, offset) => {
      const y = top + 4 + offset * 17;
      const bar = offset === 0 ? "bar-draft" : "bar-published";
      chart.append(
        svg("rect", { x: left, y, width: Math.max(length(count), 1), height: 14, class: bar }),
        svg("text", { x: left + length(count) + 6, y: y + 12, class: "count" }, count),
      );
    });
  });
  return chart;
}

function triggerKinds(draft, published) {
  return [...new Set([...Object.keys(draft.by_trigger), ...Object.keys(published?.by_trigger ?? {})])];
}

function figure(term, value, detail) {
  return h(
    "div",
    { class: "backtest-figure" },
    h("dt", { text: term }),
    h("dd", {}, h("span", { class: "value", text: value }), h("span", { class: "detail", text: detail })),
  );
}

function figures(report) {
  const draft = report.configs.draft;
  const published = report.configs.published;
  const change = report.changes.draft;
  const flagged = report.flagged.draft;
  return h(
    "dl",
    { class: "backtest-figures", id: "backtest-figures" },
    figure("Conversations replayed", String(report.conversations), `${report.messages} messages`),
    figure("Draft escalation rate", percent(draft.escalation_rate), `${draft.escalated} escalated`),
    published &&
      figure("Published escalation rate", percent(published.escalation_rate), `${published.escalated} escalated`),
    change && figure("Newly escalating", String(change.newly_escalating.length), "with the draft only"),
    change &&
      figure("No longer escalating", String(change.no_longer_escalating.length), "with the published only"),
    flagged.false_escalations > 0 &&
      figure(
        "False escalations avoided",
        `${flagged.no_longer_escalated.length} of ${flagged.false_escalations}`,
        "flagged: the AI could have handled it",
      ),
    flagged.missed > 0 &&
      figure(
        "Missed escalations caught",
        `${flagged.now_caught.length} of ${flagged.missed}`,
        "marked as missed by supervisors",
      ),
  );
}

function figuresTable(report) {
  const draft = report.configs.draft;
  const published = report.configs.published;
  const row = (name, ofDraft, ofPublished) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", text: name }),
      h("td", { text: String(ofDraft) }),
      published && h("td", { text: String(ofPublished) }),
    );
  const kinds = triggerKinds(draft, published);
  const urgencies = Object.keys(URGENCY).filter((u) => draft.by_urgency[u] || published?.by_urgency[u]);
  return h(
    "table",
    { class: "backtest-table", id: "backtest-table" },
    h("caption", { class: "visually-hidden", text: "Escalations by trigger and urgency" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", text: "Escalations" }),
        h("th", { scope: "col", text: "Draft" }),
        published && h("th", { scope: "col", text: "Published" }),
      ),
    ),
    h(
      "tbody",
      {},
      row("All", draft.escalated, published?.escalated),
      kinds.map((kind) =>
        row(`Trigger: ${triggerName(kind)}`, draft.by_trigger[kind] ?? 0, published?.by_trigger[kind] ?? 0),
      ),
      urgencies.map((u) =>
        row(`Urgency: ${URGENCY[u]}`, draft.by_urgency[u] ?? 0, published?.by_urgency[u] ?? 0),
      ),
    ),
  );
}

function conversationList(id, title, ids, byId, config) {
  const items = ids.slice(0, LISTED).map((conversationId) => {
    const outcome = byId.get(conversationId)?.outcomes[config];
    const why = outcome?.trigger
      ? ` — ${triggerName(outcome.trigger)}, ${URGENCY[outcome.urgency] ?? outcome.urgency}`
      : "";
    return h("li", {}, h("code", { text: conversationId }), h("span", { class: "muted", text: why }));
  });
  if (ids.length > LISTED) items.push(h("li", { class: "muted", text: `and ${ids.length - LISTED} more` }));
  return h(
    "section",
    { class: "backtest-list", id, "aria-label": title },
    h("h3", { text: `${title} (${ids.length})` }),
    ids.length ? h("ul", {}, items) : h("p", { class: "muted", text: "None." }),
  );
}

function render(answer) {
  const { report } = answer;
  const byId = new Map(answer.results.map((result) => [result.conversation_id, result]));
  const change = report.changes.draft;
  if (!report.conversations) {
    const text = `No conversations of the last ${DAYS} days are stored for this agent yet.`;
    return [h("p", { class: "notice", id: "backtest-empty", text })];
  }
  return [
    figures(report),
    h("div", { class: "backtest-chart-box" }, triggerChart(report.configs.draft, report.configs.published)),
    figuresTable(report),
    change
      ? h(
          "div",
          { class: "grid-2 backtest-lists" },
          conversationList("backtest-newly", "Would newly escalate", change.newly_escalating, byId, "draft"),
          conversationList(
            "backtest-no-longer",
            "Would no longer escalate",
            change.no_longer_escalating,
            byId,
            "published",
          ),
        )
      : null,
    h("ul", { class: "muted backtest-notes" }, answer.notes.map((note) => h("li", { text: note }))),
  ];
}

/** Show the panel and run the backtest on demand; ``draft()`` is the configuration to try. */
export function mountBacktest({ agent, draft }) {
  const card = $("#backtest-card");
  const button = $("#backtest-run");
  const status = $("#backtest-status");
  const result = $("#backtest-result");
  card.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    status.textContent = `Replaying the last ${DAYS} days…`;
    try {
      const answer = await api(`/api/v1/agents/${encodeURIComponent(agent)}/backtest`, {
        method: "POST",
        body: { config: draft(), days: DAYS },
      });
      replace(result, render(answer));
      const took =
        answer.elapsed_ms < 1000
          ? `${Math.round(answer.elapsed_ms)} ms`
          : `${(answer.elapsed_ms / 1000).toFixed(1)} s`;
      status.textContent = `Replayed ${answer.report.conversations} conversations in ${took}.`;
      announce(status.textContent);
    } catch (error) {
      const problems =
        error instanceof ApiError && error.status === 422
          ? error.errors.map((e) => `${e.field}: ${e.msg}`)
          : [];
      replace(
        result,
        h(
          "div",
          { class: "notice error", role: "alert" },
          h("p", {
            text: problems.length
              ? "Fix the settings before trying them:"
              : `The backtest did not run: ${error.message}`,
          }),
          problems.length > 0 && h("ul", {}, problems.map((text) => h("li", { text }))),
        ),
      );
      status.textContent = "";
    } finally {
      button.disabled = false;
      result.removeAttribute("aria-busy");
    }
  });
}
