// The tuning report's figure cards, advice and notes.

import { $, h, replace } from "./dom.js";
import { percentText } from "./tuning-charts.js";

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) {
    const minutes = seconds / 60;
    return `${minutes < 10 ? Number(minutes.toFixed(1)) : Math.round(minutes)} min`;
  }
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}

function figure(key, name, value, detail, tone = "") {
  return h(
    "div",
    { class: `figure ${tone}`, dataset: { figure: key } },
    h("dt", { text: name }),
    h("dd", { class: "value", text: value }),
    h("dd", { class: "detail", text: detail }),
  );
}

export function renderFigures(report) {
  const urgency = report.by_urgency
    .filter((u) => u.count)
    .map((u) => `${u.count} ${u.urgency}`)
    .join(" · ");
  const falsy = report.false_escalations;
  const missed = report.missed_escalations;
  const gaps = report.notification_gaps;
  const idle = gaps.not_notified.length + gaps.no_matching_escalations.length;
  const claim = report.time_to_claim;
  const resolve = report.time_to_resolve;
  const high = report.escalation_rate !== null && report.escalation_rate > 0.2;
  replace(
    $("#figures"),
    figure(
      "conversations",
      "Conversations",
      report.conversations,
      `${report.escalated_conversations} escalated`,
    ),
    figure(
      "escalation-rate",
      "Escalation rate",
      percentText(report.escalation_rate),
      high
        ? "Above 20%"
        : report.escalation_rate === null
          ? "No recorded conversations"
          : "At or below 20%",
      high ? "warn" : "",
    ),
    figure("escalations", "Escalations", report.escalations, urgency || "None"),
    figure(
      "false-escalations",
      "False escalations",
      falsy.count,
      `${percentText(falsy.rate)} of ${falsy.completed} completed`,
      falsy.count ? "warn" : "",
    ),
    figure(
      "missed-escalations",
      "Missed escalations",
      missed.count,
      `${missed.marked} marked · ${missed.frustration_detected} frustrated` +
        (missed.scoring.unscored ? ` · ${missed.scoring.unscored} not scored` : ""),
      missed.count ? "warn" : "",
    ),
    figure(
      "notification-gaps",
      "Notification gaps",
      idle,
      `supervisors without escalations · ${gaps.unrouted_escalations} unrouted`,
      idle || gaps.unrouted_escalations ? "warn" : "",
    ),
    figure(
      "time-to-claim",
      "Time to claim (median)",
      duration(claim.p50_seconds),
      `p90 ${duration(claim.p90_seconds)} · max ${duration(claim.max_seconds)} · ${claim.pending} unclaimed`,
    ),
    figure(
      "time-to-resolve",
      "Time to resolve (median)",
      duration(resolve.p50_seconds),
      `p90 ${duration(resolve.p90_seconds)} · max ${duration(resolve.max_seconds)} · ${resolve.pending} open`,
    ),
  );
}

export function renderAdvice(report, agent) {
  const settings = `/settings?agent=${encodeURIComponent(agent)}`;
  if (!report.advice.length) {
    replace(
      $("#advice"),
      h("p", { class: "notice success", text: "Nothing to tune for this period." }),
    );
    return;
  }
  replace(
    $("#advice"),
    h(
      "ul",
      { class: "advice-list" },
      report.advice.map((advice) =>
        h(
          "li",
          { class: "notice warning", dataset: { advice: advice.kind } },
          h("p", { text: advice.message }),
          advice.phrases.length
            ? h(
                "p",
                { class: "tags" },
                advice.phrases.map((phrase) => h("span", { class: "tag", text: phrase })),
              )
            : null,
          h("a", {
            href: settings,
            text: `Open ${advice.setting.replace(/_/g, " ")} in the settings`,
          }),
        ),
      ),
    ),
  );
}

export function renderNotes(report) {
  $("#notes-card").hidden = !report.notes.length;
  replace(
    $("#notes"),
    report.notes.map((note) => h("li", { text: note })),
  );
  $("#missed-help").textContent =
    `Never escalated, yet marked by a supervisor or with a customer frustration of ` +
    `${percentText(report.missed_escalations.watch_level, 0)} or more.`;
}
