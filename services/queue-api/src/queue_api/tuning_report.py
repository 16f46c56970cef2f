"""The tuning report's figures and advice (seeds/escalation-rules.txt, "Tuning after launch"),
computed from what ``tuning_repository`` reads: plain functions, and one that assembles them."""

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from escalator_runtime.db import Pool
from escalator_schemas.chat import Environment
from escalator_schemas.classification import TriggerKind, Urgency
from escalator_schemas.config import EscalationConfig
from queue_api import tuning_conversations_repository as conversations_sql
from queue_api import tuning_repository as sql
from queue_api.tuning_advice import advise, counted
from queue_api.tuning_models import (
    ConfigInEffect,
    DailyFigures,
    DurationFigures,
    FalseEscalation,
    FalseEscalations,
    FrustrationScoring,
    MissedEscalation,
    MissedEscalations,
    NotificationGaps,
    ReportPeriod,
    SupervisorCoverage,
    TriggerFigure,
    TuningReport,
    UrgencyFigure,
)
from queue_api.tuning_repository import ReportScope

LIST_LIMIT = 100
MAX_PHRASES = 5


def share(count: int, total: int) -> float | None:
    return count / total if total else None


def day_boundaries(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """``start``, then every midnight in ``zone`` after it and before ``end``: the lower edges
    of the report's days (the first and last may be partial days)."""
    edges = [start]
    day = start.astimezone(zone).date() + timedelta(days=1)
    while (midnight := datetime.combine(day, time(), tzinfo=zone)) < end:
        edges.append(midnight)
        day += timedelta(days=1)
    return edges


def daily_figures(
    edges: Sequence[datetime],
    zone: ZoneInfo,
    conversation_rows: Iterable[asyncpg.Record],
    escalation_rows: Iterable[asyncpg.Record],
) -> list[DailyFigures]:
    days: list[dict[str, Any]] = [
        {"day": edge.astimezone(zone).date(), "conversations": 0, "escalated_conversations": 0,
         "escalations": 0, "false_escalations": 0}
        for edge in edges
    ]  # fmt: skip
    for row in conversation_rows:
        day = days[row["bucket"] - 1]
        day["conversations"] += row["conversations"]
        day["escalated_conversations"] += row["escalated"]
    for row in escalation_rows:
        day = days[row["bucket"] - 1]
        day["escalations"] += row["escalations"]
        day["false_escalations"] += row["false_escalations"]
    return [
        DailyFigures(
            **day, escalation_rate=share(day["escalated_conversations"], day["conversations"])
        )
        for day in days
    ]


def trigger_figures(rows: Iterable[asyncpg.Record], escalations: int) -> list[TriggerFigure]:
    """Every trigger kind, in the vocabulary's order, zeros included (stable charts)."""
    counts = {row["kind"]: row for row in rows}
    figures = []
    for kind in TriggerKind:
        row = counts.get(kind.value)
        primary, contributing = (row["primary"], row["contributing"]) if row else (0, 0)
        figures.append(
            TriggerFigure(
                kind=kind,
                primary=primary,
                primary_share=share(primary, escalations),
                contributing=contributing,
                contributing_share=share(contributing, escalations),
            )
        )
    return figures


def urgency_figures(rows: Iterable[asyncpg.Record], escalations: int) -> list[UrgencyFigure]:
    counts = {row["urgency"]: row["n"] for row in rows}
    figures = []
    for urgency in sorted(Urgency, key=lambda urgency: -urgency.rank):
        count = counts.get(urgency.value, 0)
        figures.append(UrgencyFigure(urgency=urgency, count=count, share=share(count, escalations)))
    return figures


def duration_figures(row: asyncpg.Record, prefix: str, reached: str) -> DurationFigures:
    return DurationFigures(
        count=row[reached],
        pending=row["escalations"] - row[reached],
        p50_seconds=row[f"{prefix}_p50"],
        p90_seconds=row[f"{prefix}_p90"],
        max_seconds=row[f"{prefix}_max"],
    )


def notification_gaps(
    config: EscalationConfig | None,
    kinds: Iterable[asyncpg.Record],
    reach: Iterable[asyncpg.Record],
    unrouted: int,
) -> NotificationGaps:
    """Each active supervisor's scopes (as configured now) against the period's escalations:
    how many they cover, how many were routed to them, how many they own."""
    kinds = list(kinds)
    escalations = sum(row["n"] for row in kinds)
    reached = {row["supervisor_id"]: row for row in reach}
    supervisors: list[SupervisorCoverage] = []
    seen: set[str] = set()
    for supervisor in config.supervisors if config else []:
        if not supervisor.active or supervisor.id in seen:
            continue
        seen.add(supervisor.id)
        matching = sum(
            row["n"]
            for row in kinds
            if supervisor.scope_reasons(row["category"], row["topic"], row["area"]) is not None
        )
        row = reached.get(supervisor.id)
        notified, owned = (row["notified"], row["owned"]) if row else (0, 0)
        gap = None
        if escalations and not matching:
            gap = "no_matching_escalations"
        elif matching and not notified:
            gap = "not_notified"
        supervisors.append(
            SupervisorCoverage(
                supervisor_id=supervisor.id,
                name=supervisor.name,
                categories=list(supervisor.categories),
                topics=[str(topic) for topic in supervisor.topics],
                areas=[str(area) for area in supervisor.areas],
                matching_escalations=matching,
                notified=notified,
                owned=owned,
                gap=gap,
            )
        )
    return NotificationGaps(
        supervisors=supervisors,
        not_notified=[s.supervisor_id for s in supervisors if s.gap == "not_notified"],
        no_matching_escalations=[
            s.supervisor_id for s in supervisors if s.gap == "no_matching_escalations"
        ],
        unrouted_escalations=unrouted,
    )


def frustration_scoring(counts: asyncpg.Record, reason: str | None) -> FrustrationScoring:
    unscored = counts["unscored"]
    scored = counts["conversations"] - unscored
    if not unscored:
        return FrustrationScoring(status="complete", scored=scored, unscored=0, note=None)
    return FrustrationScoring(
        status="partial" if scored else "not_scored",
        scored=scored,
        unscored=unscored,
        note=f"{counted(unscored, 'conversation')} not escalated, not scored for frustration yet"
        + (f": {reason}" if reason else "")
        + "; missed escalations among them are not counted unless a supervisor marked them.",
    )


async def build_report(
    pool: Pool,
    scope: ReportScope,
    zone: ZoneInfo,
    config: EscalationConfig | None,
    config_version: int | None,
    watch_level: float,
    scoring_problem: str | None,
    now: datetime,
) -> TuningReport:
    """The report of ``scope`` (``scoring_problem``: why frustration scoring did not run)."""
    edges = day_boundaries(scope.start, scope.end, zone)
    async with pool.acquire() as db, db.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: the figures agree with each other even while escalations change.
        conversation_days = await sql.conversations_by_day(db, scope, edges)
        escalation_days = await sql.escalations_by_day(db, scope, edges)
        triggers = await sql.trigger_counts(db, scope)
        urgencies = await sql.urgency_counts(db, scope)
        spans = await sql.durations(db, scope)
        false_rows = await sql.false_escalations(db, scope, LIST_LIMIT)
        kinds, reach = await sql.supervisor_reach(db, scope)
        counts = await conversations_sql.not_escalated_counts(db, scope, watch_level)
        missed_rows = await conversations_sql.missed_escalations(db, scope, watch_level, LIST_LIMIT)

    def total(rows: Iterable[asyncpg.Record], column: str) -> int:
        return sum(row[column] for row in rows)

    conversations = total(conversation_days, "conversations")
    recorded = total(conversation_days, "recorded")
    escalated = total(conversation_days, "escalated")
    escalations = total(escalation_days, "escalations")
    completed = total(escalation_days, "completed")
    false_count = total(escalation_days, "false_escalations")
    notes = []
    if conversations and not recorded:
        notes.append(
            "No conversation of this period was recorded (queue-api records them from"
            " chat.messages), so the escalation rate is unknown."
        )
    elif conversations > recorded:
        notes.append(
            f"{counted(conversations - recorded, 'escalated conversation')} without recorded"
            " messages, counted as conversations of the period."
        )
    if config is None:
        notes.append("The agent has no configuration: notification gaps cannot be checked.")
    scoring = frustration_scoring(counts, scoring_problem)
    if scoring.note:
        notes.append(scoring.note)
    missed = [
        MissedEscalation(**dict(row), source="marked" if row["missed_marked_by"] else "frustration")
        for row in missed_rows
    ]
    report = TuningReport(
        tenant_id=scope.tenant_id,
        agent_id=scope.agent_id,
        environment=Environment(scope.environment),
        period=ReportPeriod(from_=scope.start, to=scope.end, timezone=zone.key),
        config=ConfigInEffect(
            version=config_version,
            escalation_threshold=config.threshold if config else None,
            active_supervisors=len({s.id for s in config.supervisors if s.active}) if config else 0,
        ),
        conversations=conversations,
        escalated_conversations=escalated,
        escalations=escalations,
        escalation_rate=share(escalated, conversations) if recorded else None,
        by_trigger=trigger_figures(triggers, escalations),
        by_urgency=urgency_figures(urgencies, escalations),
        false_escalations=FalseEscalations(
            count=false_count,
            completed=completed,
            rate=share(false_count, completed),
            items=[FalseEscalation.model_validate(dict(row)) for row in false_rows],
        ),
        missed_escalations=MissedEscalations(
            count=counts["marked"] + counts["frustrated"],
            marked=counts["marked"],
            frustration_detected=counts["frustrated"],
            watch_level=watch_level,
            scoring=scoring,
            items=missed,
        ),
        notification_gaps=notification_gaps(
            config, kinds, reach, total(escalation_days, "unrouted")
        ),
        time_to_claim=duration_figures(spans, "claim", "claimed"),
        time_to_resolve=duration_figures(spans, "resolve", "resolved"),
        daily=daily_figures(edges, zone, conversation_days, escalation_days),
        advice=[],
        notes=notes,
        generated_at=now,
    )
    phrases = list(dict.fromkeys(m.customer_excerpt for m in missed if m.customer_excerpt))
    report.advice = advise(report, report.config.escalation_threshold, phrases[:MAX_PHRASES])
    return report
