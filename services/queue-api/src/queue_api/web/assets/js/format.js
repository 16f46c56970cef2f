// Words and numbers as supervisors read them.

export const STATUS = { pending: "Pending", in_progress: "In progress", completed: "Completed" };
export const URGENCY = { critical: "Critical", high: "High", medium: "Medium", low: "Low" };
export const TOPICS = [
  "billing",
  "refund",
  "complaint",
  "shipping",
  "product",
  "account",
  "technical",
  "other",
];
export const AREAS = ["order", "payment", "delivery", "account", "product", "other"];
export const CATEGORIES = [
  "human_request",
  "legal",
  "cancellation",
  "refund",
  "complaint",
  "low_confidence",
  "turn_limit",
  "idle",
  "sentiment",
];
export const TRIGGER_KIND = {
  keyword: "Keyword",
  confidence: "Low AI confidence",
  clarification: "Repeated clarification",
  turn_limit: "Turn limit",
  idle: "Idle timeout",
  sentiment: "Negative sentiment",
  condition: "Trigger condition",
};
export const AUDIT_ACTION = {
  detected: "Escalation detected",
  routed: "Routed to supervisors",
  claimed: "Claimed",
  released: "Released",
  completed: "Completed",
  reassigned_to_ai: "Reassigned to AI",
  sla_breached: "Unclaimed past its SLA",
  summary_generated: "AI summary generated",
};

export function label(word) {
  if (!word) return "";
  const text = String(word).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function categoryLabel(category) {
  if (category?.startsWith("condition:")) return `Condition: ${category.slice(10)}`;
  return label(category);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

export function timeAgo(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? "just now" : "in a moment";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86400), "day");
}

export function dateTime(iso) {
  return iso ? absolute.format(new Date(iso)) : "";
}

export function timeOfDay(iso) {
  return iso ? clock.format(new Date(iso)) : "";
}

export function percent(score) {
  return `${Math.round(Number(score) * 100)}%`;
}

export function customerName(escalation) {
  const customer = escalation?.customer;
  return customer?.name || customer?.email || customer?.id || "Unknown customer";
}
