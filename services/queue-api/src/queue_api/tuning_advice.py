"""Advice from the tuning report's figures: the seed's "Tuning after launch" table
(seeds/escalation-rules.txt), one recommendation per row that applies."""

from collections.abc import Sequence

from queue_api.tuning_models import Advice, TuningReport

HIGH_ESCALATION_RATE = 0.20  # the seed's "if above 20%"
THRESHOLD_STEP = 0.05  # the seed's "lower the threshold by 0.05"


def counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def advise(report: TuningReport, threshold: float | None, phrases: Sequence[str]) -> list[Advice]:
    """The seed's table, applied to the figures."""
    advice: list[Advice] = []
    rate = report.escalation_rate
    if rate is not None and rate > HIGH_ESCALATION_RATE:
        advice.append(
            Advice(
                kind="escalation_rate",
                setting="escalation_threshold",
                message=f"{rate:.0%} of conversations escalated, above 20%: the escalation"
                " threshold may be too high, or the knowledge base may have gaps. Review the"
                " escalated conversations to see which.",
            )
        )
    false = report.false_escalations
    if false.count:
        suggested = (
            round(max(0.0, threshold - THRESHOLD_STEP), 2) if threshold is not None else None
        )
        change = f" (from {threshold:.2f} to {suggested:.2f})" if suggested is not None else ""
        advice.append(
            Advice(
                kind="false_escalations",
                setting="escalation_threshold",
                suggested_threshold=suggested,
                message=f"{false.count} of {false.completed} completed escalations could have"
                f" been handled by the AI: lower the escalation threshold by 0.05{change}.",
            )
        )
    missed = report.missed_escalations
    if missed.count:
        advice.append(
            Advice(
                kind="missed_escalations",
                setting="escalation_keywords",
                phrases=list(phrases),
                message=f"{counted(missed.count, 'conversation')} should have escalated and"
                f" did not ({missed.marked} marked by supervisors,"
                f" {missed.frustration_detected} with a frustrated customer): add the phrases"
                " those customers used as keywords.",
            )
        )
    gaps = report.notification_gaps
    idle = gaps.not_notified + gaps.no_matching_escalations
    if idle or gaps.unrouted_escalations:
        parts = []
        if idle:
            who = counted(len(idle), "supervisor")
            parts.append(f"{who} received no escalations ({', '.join(idle)})")
        if gaps.unrouted_escalations:
            unrouted = counted(gaps.unrouted_escalations, "escalation")
            parts.append(f"{unrouted} matched no supervisor")
        advice.append(
            Advice(
                kind="notification_gaps",
                setting="supervisors",
                supervisor_ids=idle,
                message=" and ".join(parts) + ": check the supervisors' category assignments.",
            )
        )
    return advice
