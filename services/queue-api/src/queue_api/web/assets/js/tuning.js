// The tuning report of one agent: the seed's "Tuning after launch" figures over a period, with
// charts, advice, and the conversations a supervisor may mark as missed escalations.

import { $, announce, h, recall, remember, replace } from "./dom.js";
import { ApiError, api, requireSession } from "./session.js";
import { mountShell } from "./shell.js";
import { rateChart, triggerChart } from "./tuning-charts.js";
import { renderAdvice, renderFigures, renderNotes } from "./tuning-figures.js";
import { renderFalse, renderGaps, renderMissed, renderNotEscalated } from "./tuning-tables.js";

const session = await requireSession();
mountShell("tuning", session);

const params = new URLSearchParams(location.search);
const agent = (params.get("agent") || recall("agent", "") || "").trim();
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const PAGE = 50;
const state = { report: null, notEscalated: null, limit: PAGE };

// --- the period ---------------------------------------------------------------------------------

function isoDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function lastDays(days) {
  const to = new Date();
  const from = new Date(to);
  from.setDate(from.getDate() - (days - 1));
  return { from: isoDate(from), to: isoDate(to) };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const fallback = lastDays(7);
const period = {
  from: DATE.test(params.get("from") || "") ? params.get("from") : fallback.from,
  to: DATE.test(params.get("to") || "") ? params.get("to") : fallback.to,
  environment: params.get("environment") === "preview" ? "preview" : "published",
};

/** The API's query: local midnights as instants, the last day included. */
function query(extra = {}) {
  const start = new Date(`${period.from}T00:00:00`);
  const end = new Date(`${period.to}T00:00:00`);
  end.setDate(end.getDate() + 1);
  return new URLSearchParams({
    from: start.toISOString(),
    to: end.toISOString(),
    environment: period.environment,
    ...extra,
  });
}

function keepInUrl() {
  const url = new URL(location.href);
  url.searchParams.set("agent", agent);
  url.searchParams.set("from", period.from);
  url.searchParams.set("to", period.to);
  url.searchParams.set("environment", period.environment);
  history.replaceState(null, "", url);
}

function render(report) {
  renderFigures(report);
  renderAdvice(report, agent);
  replace($("#rate-chart"), rateChart(report.daily));
  replace($("#trigger-chart"), triggerChart(report.by_trigger, report.escalations));
  renderFalse($("#false-table"), report);
  renderMissed($("#missed-table"), report);
  renderGaps($("#gaps-table"), report);
  renderNotes(report);
}

// --- loading and marking ------------------------------------------------------------------------

const base = `/api/v1/agents/${encodeURIComponent(agent)}`;

function failure(error) {
  if (error instanceof ApiError && error.errors.length)
    return error.errors.map((e) => e.msg).join("; ");
  return error.message;
}

async function loadNotEscalated() {
  state.notEscalated = await api(
    `${base}/conversations/not-escalated?${query({ limit: state.limit })}`,
  );
  renderNotEscalated($("#not-escalated-table"), state.notEscalated, {
    watchLevel: state.report.missed_escalations.watch_level,
    onToggle: toggle,
    onMore: async () => {
      state.limit += PAGE;
      await loadNotEscalated();
    },
  });
}

async function load() {
  $("#load-status").textContent = "Loading…";
  replace($("#banner"));
  try {
    state.report = await api(`${base}/tuning-report?${query({ timezone: zone })}`);
    render(state.report);
    await loadNotEscalated();
    $("#load-status").textContent =
      `Updated ${new Date(state.report.generated_at).toLocaleTimeString()}.`;
  } catch (error) {
    $("#load-status").textContent = "";
    replace(
      $("#banner"),
      h("p", { class: "notice error", text: `Could not load the report: ${failure(error)}` }),
    );
  }
}

async function toggle(conversationId, marked, button) {
  button.disabled = true;
  const path = `${base}/conversations/${encodeURIComponent(conversationId)}/missed-escalation?environment=${period.environment}`;
  try {
    await api(path, marked ? { method: "DELETE" } : { method: "PUT", body: {} });
    await load();
    announce(
      marked
        ? `${conversationId} is no longer marked missed.`
        : `${conversationId} marked as a missed escalation.`,
    );
    $(`#not-escalated-table button[data-conversation="${CSS.escape(conversationId)}"]`)?.focus();
  } catch (error) {
    button.disabled = false;
    replace($("#banner"), h("p", { class: "notice error", text: `Not saved: ${failure(error)}` }));
  }
}

function setPeriod(from, to) {
  period.from = from;
  period.to = to;
  $("#period-from").value = from;
  $("#period-to").value = to;
}

function wirePeriodForm() {
  setPeriod(period.from, period.to);
  $(`input[name=environment][value=${period.environment}]`).checked = true;
  $("#period-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const from = $("#period-from").value;
    const to = $("#period-to").value;
    if (!DATE.test(from) || !DATE.test(to) || from > to) {
      $("#period-error").textContent = "Choose a start date on or before the end date.";
      return;
    }
    $("#period-error").textContent = "";
    setPeriod(from, to);
    period.environment = $("input[name=environment]:checked").value;
    state.limit = PAGE;
    keepInUrl();
    await load();
  });
  for (const button of document.querySelectorAll("#period-form button[data-days]")) {
    button.addEventListener("click", () => {
      const range = lastDays(Number(button.dataset.days));
      setPeriod(range.from, range.to);
      $("#period-form").requestSubmit();
    });
  }
}

// --- start --------------------------------------------------------------------------------------

if (!agent) {
  $("#page-sub").textContent = "Choose the agent whose escalations to review.";
  $("#agent-picker").hidden = false;
  $("#picker-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#picker-agent").value.trim();
    if (value) location.assign(`/tuning?agent=${encodeURIComponent(value)}`);
    else $("#picker-agent").focus();
  });
  $("#picker-agent").focus();
} else if (!session.isAdmin) {
  replace(
    $("#banner"),
    h("p", { class: "notice warning", text: "The tuning report needs role admin." }),
  );
} else {
  remember("agent", agent);
  mountShell("tuning", session);
  $("#page-sub").textContent = `Agent ${agent} · tenant ${session.tenant} · days in ${zone}`;
  $("#settings-link").href = `/settings?agent=${encodeURIComponent(agent)}`;
  $("#report-area").hidden = false;
  wirePeriodForm();
  keepInUrl();
  await load();
}
