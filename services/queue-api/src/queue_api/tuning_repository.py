"""The tuning report's SQL about an agent's escalations and conversations over a period
(conversations never escalated: ``tuning_conversations_repository``).

A conversation belongs to the period when it was active in it (its first message before the
end, its last one at or after the start); an escalation when it was detected in it. Day buckets
are ``width_bucket`` over day boundaries computed by the caller, so days follow the viewer's
time zone without relying on PostgreSQL knowing that zone's name.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from escalator_runtime.db import Connection, Pool


@dataclass(frozen=True, slots=True)
class ReportScope:
    """One agent's escalations and conversations in one environment, ``start`` <= t < ``end``."""

    tenant_id: str
    agent_id: str
    environment: str
    start: datetime
    end: datetime

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.tenant_id, self.agent_id, self.environment, self.start, self.end)


Db = Connection | Pool

PERIOD_ESCALATIONS = """
    SELECT * FROM escalations
    WHERE tenant_id = $1 AND agent_id = $2 AND environment = $3
      AND detected_at >= $4 AND detected_at < $5
"""

PERIOD_CONVERSATIONS = """
    SELECT * FROM conversations
    WHERE tenant_id = $1 AND agent_id = $2 AND environment = $3
      AND last_message_at >= $4 AND first_message_at < $5
"""


async def conversations_by_day(
    db: Db, scope: ReportScope, boundaries: Sequence[datetime]
) -> list[asyncpg.Record]:
    """Per day bucket: conversations, how many of them escalated in the period, and how many
    are recorded in ``conversations`` (an escalated one may predate the recording)."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        WITH escalated AS (
            SELECT conversation_id, min(detected_at) AS detected_at
            FROM ({PERIOD_ESCALATIONS}) e GROUP BY conversation_id
        ),
        recorded AS (
            SELECT conversation_id, greatest(first_message_at, $4) AS started
            FROM ({PERIOD_CONVERSATIONS}) c
        ),
        period AS (
            SELECT coalesce(r.started, x.detected_at) AS started,
                   r.conversation_id IS NOT NULL AS recorded,
                   x.conversation_id IS NOT NULL AS escalated
            FROM recorded r FULL JOIN escalated x ON x.conversation_id = r.conversation_id
        )
        SELECT width_bucket(started, $6::timestamptz[]) AS bucket,
               count(*) AS conversations,
               count(*) FILTER (WHERE escalated) AS escalated,
               count(*) FILTER (WHERE recorded) AS recorded
        FROM period GROUP BY 1
        """,  # noqa: S608 - our own fragments
        *scope.args,
        list(boundaries),
    )
    return rows


async def escalations_by_day(
    db: Db, scope: ReportScope, boundaries: Sequence[datetime]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT width_bucket(detected_at, $6::timestamptz[]) AS bucket,
               count(*) AS escalations,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'completed' AND ai_could_have_handled)
                   AS false_escalations,
               count(*) FILTER (WHERE unrouted) AS unrouted
        FROM ({PERIOD_ESCALATIONS}) e GROUP BY 1
        """,  # noqa: S608 - our own fragments
        *scope.args,
        list(boundaries),
    )
    return rows


async def trigger_counts(db: Db, scope: ReportScope) -> list[asyncpg.Record]:
    """Per trigger kind: escalations it decided (``primary``) and escalations it fired in,
    deciding or not (``contributing``, each escalation once per kind)."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        WITH e AS ({PERIOD_ESCALATIONS}),
        primary_kind AS (SELECT trigger->>'kind' AS kind, count(*) AS n FROM e GROUP BY 1),
        contributing AS (
            SELECT t.kind, count(*) AS n FROM e
            CROSS JOIN LATERAL (
                SELECT DISTINCT x->>'kind' AS kind
                FROM jsonb_array_elements(e.triggers || jsonb_build_array(e.trigger)) x
            ) t
            GROUP BY 1
        )
        SELECT coalesce(p.kind, c.kind) AS kind, coalesce(p.n, 0) AS "primary",
               coalesce(c.n, 0) AS contributing
        FROM primary_kind p FULL JOIN contributing c ON c.kind = p.kind
        """,  # noqa: S608 - our own fragments
        *scope.args,
    )
    return rows


async def urgency_counts(db: Db, scope: ReportScope) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        f"SELECT urgency, count(*) AS n FROM ({PERIOD_ESCALATIONS}) e GROUP BY 1",  # noqa: S608
        *scope.args,
    )
    return rows


async def durations(db: Db, scope: ReportScope) -> asyncpg.Record:
    """Seconds from detection to the first claim and to completion: count, median, 90th
    percentile (linear interpolation) and maximum, over the escalations of the period that
    got there. The first claim comes from the audit timeline: a release clears claimed_at."""
    # An aggregate without GROUP BY answers exactly one row.
    (row,) = await db.fetch(
        f"""
        WITH e AS ({PERIOD_ESCALATIONS}),
        moments AS (
            SELECT e.detected_at, e.completed_at,
                   coalesce((SELECT min(a.at) FROM escalation_audit a
                             WHERE a.escalation_id = e.escalation_id AND a.action = 'claimed'),
                            e.claimed_at) AS claimed_at
            FROM e
        ),
        spans AS (
            SELECT CASE WHEN claimed_at IS NOT NULL THEN greatest(0,
                       extract(epoch FROM claimed_at - detected_at))::float8 END AS to_claim,
                   CASE WHEN completed_at IS NOT NULL THEN greatest(0,
                       extract(epoch FROM completed_at - detected_at))::float8 END AS to_resolve
            FROM moments
        )
        SELECT count(*) AS escalations,
               count(to_claim) AS claimed,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY to_claim) AS claim_p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY to_claim) AS claim_p90,
               max(to_claim) AS claim_max,
               count(to_resolve) AS resolved,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY to_resolve) AS resolve_p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY to_resolve) AS resolve_p90,
               max(to_resolve) AS resolve_max
        FROM spans
        """,  # noqa: S608 - our own fragments
        *scope.args,
    )
    return row


async def false_escalations(db: Db, scope: ReportScope, limit: int) -> list[asyncpg.Record]:
    """Completed escalations flagged 'the AI could have handled it', newest first."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT escalation_id, conversation_id, detected_at, completed_at, trigger, category,
               assigned_to, resolution_note
        FROM ({PERIOD_ESCALATIONS}) e
        WHERE status = 'completed' AND ai_could_have_handled
        ORDER BY detected_at DESC, escalation_id LIMIT $6
        """,  # noqa: S608 - our own fragments
        *scope.args,
        limit,
    )
    return rows


async def supervisor_reach(
    db: Db, scope: ReportScope
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """What the period's escalations were about (category, topic, area, count), and per
    supervisor how many were routed to them (``notified``) and how many they own."""
    kinds: list[asyncpg.Record] = await db.fetch(
        f"SELECT category, topic, area, count(*) AS n FROM ({PERIOD_ESCALATIONS}) e"  # noqa: S608
        " GROUP BY 1, 2, 3",
        *scope.args,
    )
    reach: list[asyncpg.Record] = await db.fetch(
        f"""
        WITH e AS ({PERIOD_ESCALATIONS}),
        notified AS (
            SELECT m->>'supervisor_id' AS supervisor_id, count(DISTINCT e.escalation_id) AS n
            FROM e CROSS JOIN LATERAL jsonb_array_elements(e.matched_supervisors) m GROUP BY 1
        ),
        owned AS (
            SELECT assigned_to AS supervisor_id, count(*) AS n FROM e
            WHERE assigned_to IS NOT NULL GROUP BY 1
        )
        SELECT coalesce(n.supervisor_id, o.supervisor_id) AS supervisor_id,
               coalesce(n.n, 0) AS notified, coalesce(o.n, 0) AS owned
        FROM notified n FULL JOIN owned o ON o.supervisor_id = n.supervisor_id
        """,  # noqa: S608 - our own fragments
        *scope.args,
    )
    return kinds, reach
