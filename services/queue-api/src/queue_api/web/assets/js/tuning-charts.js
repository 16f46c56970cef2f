// The tuning report's charts as inline SVG built from data (no library, no markup strings):
// the escalation rate per day, and escalations by trigger.

import { TRIGGER_KIND } from "./format.js";

// The SVG namespace, as the HTML parser assigns it: no URL literal in the workspace's files.
const NS = (() => {
  const template = document.createElement("template");
  template.innerHTML = "<svg></svg>"; // a constant, never data
  return template.content.firstElementChild.namespaceURI;
})();
const HIGH_RATE = 0.2; // the seed's "if above 20%"

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function title(text) {
  return svg("title", {}, text);
}

export function percentText(value, digits = 1) {
  if (value === null || value === undefined) return "–";
  const rounded = Number((value * 100).toFixed(digits));
  return `${rounded}%`;
}

const dayFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});

export function dayLabel(isoDate) {
  return dayFormat.format(new Date(`${isoDate}T00:00:00Z`));
}

/** Bars of the daily escalation rate, a dashed line at 20%. */
export function rateChart(daily) {
  const width = 640;
  const height = 240;
  const left = 44;
  const bottom = 28;
  const top = 12;
  const plotH = height - top - bottom;
  const peak = Math.max(HIGH_RATE * 1.25, ...daily.map((d) => d.escalation_rate ?? 0));
  const scale = Math.min(1, Math.ceil(peak * 10) / 10);
  const y = (rate) => top + plotH - (rate / scale) * plotH;
  const slot = (width - left - 8) / Math.max(daily.length, 1);
  const bar = Math.max(2, Math.min(48, slot * 0.7));
  const everyNth = Math.ceil(daily.length / 12);
  const days = daily.filter((d) => d.conversations).length;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg rate-chart",
    role: "img",
    "aria-label": `Escalation rate on ${days} of ${daily.length} days with conversations`,
  });
  for (const tick of [0, scale / 2, scale]) {
    chart.append(
      svg("line", { x1: left, x2: width - 4, y1: y(tick), y2: y(tick), class: "grid" }),
      svg(
        "text",
        { x: left - 6, y: y(tick) + 4, class: "axis", "text-anchor": "end" },
        percentText(tick, 0),
      ),
    );
  }
  daily.forEach((day, index) => {
    const x = left + index * slot + (slot - bar) / 2;
    const rate = day.escalation_rate ?? 0;
    const high = rate > HIGH_RATE;
    const label =
      day.escalation_rate === null
        ? `${dayLabel(day.day)}: no conversations`
        : `${dayLabel(day.day)}: ${percentText(rate)} (${day.escalated_conversations} of ${day.conversations} conversations)`;
    chart.append(
      svg(
        "rect",
        {
          x,
          y: y(rate),
          width: bar,
          height: Math.max(0, top + plotH - y(rate)),
          class: high ? "bar bar-high" : "bar",
          "data-day": day.day,
          "data-rate": day.escalation_rate ?? "",
        },
        title(label),
      ),
    );
    if (index % everyNth === 0) {
      chart.append(
        svg(
          "text",
          { x: x + bar / 2, y: height - 8, class: "axis", "text-anchor": "middle" },
          dayLabel(day.day),
        ),
      );
    }
  });
  chart.append(
    svg("line", { x1: left, x2: width - 4, y1: y(HIGH_RATE), y2: y(HIGH_RATE), class: "limit" }),
    svg(
      "text",
      { x: width - 6, y: y(HIGH_RATE) - 4, class: "axis limit-label", "text-anchor": "end" },
      "20%",
    ),
  );
  return chart;
}

/** One row per trigger kind: every escalation it fired in (light), those it decided (dark). */
export function triggerChart(byTrigger, escalations) {
  const width = 640;
  const rowH = 30;
  const labelW = 190;
  const valueW = 110;
  const height = byTrigger.length * rowH + 8;
  const most = Math.max(1, ...byTrigger.map((t) => t.contributing));
  const span = width - labelW - valueW;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg trigger-chart",
    role: "img",
    "aria-label": `${escalations} escalations by trigger`,
  });
  byTrigger.forEach((figure, index) => {
    const top = 4 + index * rowH;
    const name = TRIGGER_KIND[figure.kind] || figure.kind;
    const row = svg(
      "g",
      { class: "trigger-row", "data-kind": figure.kind },
      title(
        `${name}: decided ${figure.primary} (${percentText(figure.primary_share)}), fired in ${figure.contributing} (${percentText(figure.contributing_share)})`,
      ),
      svg("text", { x: labelW - 10, y: top + 19, class: "axis", "text-anchor": "end" }, name),
      svg("rect", {
        x: labelW,
        y: top + 5,
        width: (figure.contributing / most) * span,
        height: 18,
        class: "bar bar-contributing",
      }),
      svg("rect", {
        x: labelW,
        y: top + 5,
        width: (figure.primary / most) * span,
        height: 18,
        class: "bar bar-primary",
      }),
      svg(
        "text",
        { x: width - valueW + 8, y: top + 19, class: "value" },
        `${figure.primary} · ${percentText(figure.primary_share, 0)}`,
      ),
    );
    chart.append(row);
  });
  return chart;
}
