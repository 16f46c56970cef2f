"""The tuning report's SQL about conversations never escalated: counts and lists of the period's,
the detector's frustration scores stored on them, and supervisors' missed-escalation marks."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from queue_api.tuning_repository import PERIOD_CONVERSATIONS, Db, ReportScope

MAX_MESSAGES_SCORED = 1000  # the detector's limit per conversation in a backtest

_NEVER_ESCALATED = """
    NOT EXISTS (
        SELECT 1 FROM escalations e
        WHERE e.tenant_id = c.tenant_id AND e.agent_id = c.agent_id
          AND e.environment = c.environment AND e.conversation_id = c.conversation_id)
"""

# The customer's latest words: what a merchant would add as keywords.
_CUSTOMER_EXCERPT = """
    (SELECT left(m.message->>'text', 280) FROM conversation_messages m
     WHERE m.tenant_id = c.tenant_id AND m.agent_id = c.agent_id
       AND m.environment = c.environment AND m.conversation_id = c.conversation_id
       AND m.message->>'role' = 'customer'
     ORDER BY m.sent_at DESC LIMIT 1) AS customer_excerpt
"""

_CONVERSATION_COLUMNS = """
    c.conversation_id, c.first_message_at, c.last_message_at, c.message_count,
    c.peak_frustration, c.missed_marked_by, c.missed_marked_at, c.missed_note
"""


async def not_escalated_counts(db: Db, scope: ReportScope, watch_level: float) -> asyncpg.Record:
    """Among the period's conversations never escalated: marked missed by a supervisor,
    frustrated at or above ``watch_level`` without a mark, and not scored yet."""
    # An aggregate without GROUP BY answers exactly one row.
    (row,) = await db.fetch(
        f"""
        SELECT count(*) AS conversations,
               count(*) FILTER (WHERE missed_marked_by IS NOT NULL) AS marked,
               count(*) FILTER (WHERE missed_marked_by IS NULL AND peak_frustration >= $6)
                   AS frustrated,
               count(*) FILTER (WHERE peak_frustration IS NULL) AS unscored
        FROM ({PERIOD_CONVERSATIONS}) c WHERE {_NEVER_ESCALATED}
        """,  # noqa: S608 - our own fragments
        *scope.args,
        watch_level,
    )
    return row


async def missed_escalations(
    db: Db, scope: ReportScope, watch_level: float, limit: int
) -> list[asyncpg.Record]:
    """Never-escalated conversations marked missed or frustrated at or above ``watch_level``:
    marked ones first, then the most frustrated."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT {_CONVERSATION_COLUMNS}, {_CUSTOMER_EXCERPT}
        FROM ({PERIOD_CONVERSATIONS}) c
        WHERE {_NEVER_ESCALATED}
          AND (c.missed_marked_by IS NOT NULL OR c.peak_frustration >= $6)
        ORDER BY (c.missed_marked_by IS NOT NULL) DESC, c.peak_frustration DESC NULLS LAST,
                 c.last_message_at DESC, c.conversation_id
        LIMIT $7
        """,  # noqa: S608 - our own fragments
        *scope.args,
        watch_level,
        limit,
    )
    return rows


async def not_escalated_page(
    db: Db, scope: ReportScope, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """The period's conversations never escalated, most frustrated first (unscored last)."""
    total: int = await db.fetchval(
        f"SELECT count(*) FROM ({PERIOD_CONVERSATIONS}) c WHERE {_NEVER_ESCALATED}",  # noqa: S608
        *scope.args,
    )
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT {_CONVERSATION_COLUMNS}, {_CUSTOMER_EXCERPT}
        FROM ({PERIOD_CONVERSATIONS}) c WHERE {_NEVER_ESCALATED}
        ORDER BY c.peak_frustration DESC NULLS LAST, c.last_message_at DESC, c.conversation_id
        LIMIT $6 OFFSET $7
        """,  # noqa: S608 - our own fragments
        *scope.args,
        limit,
        offset,
    )
    return rows, total


@dataclass(frozen=True, slots=True)
class ConversationToScore:
    conversation_id: str
    last_message_at: datetime
    messages: list[dict[str, Any]]


async def conversations_to_score(
    db: Db, scope: ReportScope, limit: int
) -> list[ConversationToScore]:
    """Never-escalated conversations of the period not scored since their last message, with
    their latest messages (the ChatMessage JSON, oldest first; at most what the detector takes
    per conversation); the most recent conversations first."""
    rows = await db.fetch(
        f"""
        SELECT c.conversation_id, c.last_message_at,
               (SELECT jsonb_agg(recent.message ORDER BY recent.sent_at, recent.message_id)
                FROM (SELECT m.message, m.sent_at, m.message_id
                      FROM conversation_messages m
                      WHERE m.tenant_id = c.tenant_id AND m.agent_id = c.agent_id
                        AND m.environment = c.environment
                        AND m.conversation_id = c.conversation_id
                      ORDER BY m.sent_at DESC, m.message_id DESC
                      LIMIT {MAX_MESSAGES_SCORED}) recent) AS messages
        FROM ({PERIOD_CONVERSATIONS}) c
        WHERE {_NEVER_ESCALATED}
          AND EXISTS (SELECT 1 FROM conversation_messages m
                      WHERE m.tenant_id = c.tenant_id AND m.agent_id = c.agent_id
                        AND m.environment = c.environment
                        AND m.conversation_id = c.conversation_id)
          AND (c.frustration_scored_through IS NULL
               OR c.frustration_scored_through < c.last_message_at)
        ORDER BY c.last_message_at DESC, c.conversation_id
        LIMIT $6
        """,  # noqa: S608 - our own fragments
        *scope.args,
        limit,
    )
    return [
        ConversationToScore(row["conversation_id"], row["last_message_at"], list(row["messages"]))
        for row in rows
    ]


async def store_frustration(
    db: Db, scope: ReportScope, scores: Sequence[tuple[str, float, datetime]]
) -> None:
    """``(conversation_id, peak_frustration, last_message_at scored)`` per conversation."""
    await db.executemany(
        """
        UPDATE conversations SET peak_frustration = $5, frustration_scored_through = $6
        WHERE tenant_id = $1 AND agent_id = $2 AND environment = $3 AND conversation_id = $4
        """,
        [
            (scope.tenant_id, scope.agent_id, scope.environment, conversation, peak, at)
            for conversation, peak, at in scores
        ],
    )


# --- marks -----------------------------------------------------------------------------------


async def conversation_state(
    db: Db,
    tenant_id: str,
    agent_id: str,
    environment: str,
    conversation_id: str,
    *,
    lock: bool = False,
) -> asyncpg.Record | None:
    """The conversation and whether it was ever escalated (``lock``: until the transaction
    ends); None when it is not recorded."""
    row: asyncpg.Record | None = await db.fetchrow(
        f"""
        SELECT c.conversation_id, c.environment, c.missed_marked_by, c.missed_marked_at,
               c.missed_note, NOT {_NEVER_ESCALATED} AS escalated
        FROM conversations c
        WHERE c.tenant_id = $1 AND c.agent_id = $2 AND c.environment = $3
          AND c.conversation_id = $4
        {"FOR UPDATE OF c" if lock else ""}
        """,  # noqa: S608 - our own fragments
        tenant_id,
        agent_id,
        environment,
        conversation_id,
    )
    return row


async def set_missed_mark(
    db: Db,
    tenant_id: str,
    agent_id: str,
    environment: str,
    conversation_id: str,
    marked_by: str | None,
    note: str | None,
) -> asyncpg.Record | None:
    """Mark (``marked_by`` set) or unmark (None) a recorded conversation as a missed
    escalation; returns its mark (None when it is not recorded)."""
    row: asyncpg.Record | None = await db.fetchrow(
        """
        UPDATE conversations
        SET missed_marked_by = $5, missed_note = $6,
            missed_marked_at = CASE WHEN $5::text IS NULL THEN NULL ELSE now() END
        WHERE tenant_id = $1 AND agent_id = $2 AND environment = $3 AND conversation_id = $4
        RETURNING conversation_id, environment, missed_marked_by, missed_marked_at, missed_note
        """,
        tenant_id,
        agent_id,
        environment,
        conversation_id,
        marked_by,
        note,
    )
    return row
