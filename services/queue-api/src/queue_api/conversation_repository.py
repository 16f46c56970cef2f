"""SQL of the stored conversations (``conversations``, ``conversation_messages``): what the
chat.messages consumer writes, the retention sweep, and what a backtest reads."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from escalator_runtime.db import Connection, Pool
from escalator_schemas.chat import ChatMessage
from queue_api.repository import without_nul

MAX_MESSAGES = 1_000
"""Messages of one conversation a backtest replays (the detector's limit)."""


def message_row(message: ChatMessage, read_from: bytes | None = None) -> dict[str, Any]:
    """The row of ``message``; ``read_from``: the JSON it was read from, when at hand. JSON
    can only write U+0000 escaped, so when that holds no "\\u0000" the message holds no
    character the database refuses, and looking for one in every field is skipped."""
    document = message.model_dump(mode="json")
    if read_from is None or b"\\u0000" in read_from:
        document = without_nul(document)
    return {
        "tenant_id": document["tenant_id"],
        "agent_id": document["agent_id"],
        "environment": document["environment"],
        "conversation_id": document["conversation_id"],
        "message_id": document["message_id"],
        "sent_at": document["sent_at"],
        "message": document,
    }


_INCOMING = """
    jsonb_to_recordset($1::jsonb) AS r(
        tenant_id text, agent_id text, environment text, conversation_id text,
        message_id text, sent_at timestamptz, message jsonb)
"""


async def store_messages(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Store chat messages not stored yet and count them on their conversations, in one
    statement (one round trip, atomic on its own; the counting part runs although nothing
    reads it). A redelivered message changes nothing.
    Returns how many were new.

    Every message stored has its conversation: the same statement writes both. (A foreign
    key said so at eight times the database's work: see migration 0291.)"""
    if not rows:
        return 0
    new: int = await connection.fetchval(
        f"""
        WITH stored AS (
            INSERT INTO conversation_messages (
                tenant_id, agent_id, environment, conversation_id, message_id, sent_at, message)
            SELECT * FROM {_INCOMING}
            ON CONFLICT DO NOTHING
            RETURNING tenant_id, agent_id, environment, conversation_id, sent_at
        ), counted AS (
            INSERT INTO conversations AS c (
                tenant_id, agent_id, environment, conversation_id, first_message_at,
                last_message_at, message_count)
            SELECT tenant_id, agent_id, environment, conversation_id, min(sent_at),
                   max(sent_at), count(*)
            FROM stored GROUP BY tenant_id, agent_id, environment, conversation_id
            ON CONFLICT (tenant_id, agent_id, environment, conversation_id) DO UPDATE
            SET message_count = c.message_count + EXCLUDED.message_count,
                first_message_at = least(c.first_message_at, EXCLUDED.first_message_at),
                last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at)
        )
        SELECT count(*)::int FROM stored
        """,  # noqa: S608 - our own fragment
        list(rows),
    )
    return new


async def delete_expired(pool: Pool, older_than: datetime, batch_size: int = 1000) -> int:
    """Delete conversations and their messages whose last message is older than
    ``older_than``, a batch at a time so no transaction holds many locks. Returns how many
    conversations. A message stored meanwhile for a conversation being deleted is not lost:
    its statement waits for the delete, then creates the conversation again."""
    deleted = 0
    while True:
        count: int = await pool.fetchval(
            """
            WITH expired AS (
                DELETE FROM conversations c
                USING (
                    SELECT tenant_id, agent_id, environment, conversation_id FROM conversations
                    WHERE last_message_at < $1
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED
                ) e
                WHERE c.tenant_id = e.tenant_id AND c.agent_id = e.agent_id
                  AND c.environment = e.environment AND c.conversation_id = e.conversation_id
                RETURNING c.tenant_id, c.agent_id, c.environment, c.conversation_id
            ), messages AS (
                DELETE FROM conversation_messages m
                USING expired e
                WHERE m.tenant_id = e.tenant_id AND m.agent_id = e.agent_id
                  AND m.environment = e.environment AND m.conversation_id = e.conversation_id
            )
            SELECT count(*)::int FROM expired
            """,
            older_than,
            batch_size,
        )
        deleted += count
        if count < batch_size:
            return deleted


@dataclass(frozen=True, slots=True)
class StoredConversation:
    conversation_id: str
    messages: list[dict[str, Any]]
    """The ChatMessage JSON, oldest first."""
    flag: str | None
    """``false_escalation``: escalated, and the supervisor who resolved it said the AI could
    have handled it; ``missed``: a supervisor marked it as an escalation the policy missed."""


async def conversations_in_period(
    pool: Pool,
    tenant_id: str,
    agent_id: str,
    environment: str,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[StoredConversation]:
    """The agent's conversations with a message in ``[start, end)``, the most recent first, at
    most ``limit``, with their messages (at most ``MAX_MESSAGES`` each) and supervisors'
    flags."""
    rows = await pool.fetch(
        """
        SELECT c.conversation_id,
               (SELECT jsonb_agg(m.message ORDER BY m.sent_at, m.message_id)
                FROM conversation_messages m
                WHERE m.tenant_id = c.tenant_id AND m.agent_id = c.agent_id
                  AND m.environment = c.environment
                  AND m.conversation_id = c.conversation_id) AS messages,
               CASE
                 WHEN EXISTS (
                   SELECT 1 FROM escalations e
                   WHERE e.tenant_id = c.tenant_id AND e.agent_id = c.agent_id
                     AND e.environment = c.environment
                     AND e.conversation_id = c.conversation_id AND e.ai_could_have_handled)
                   THEN 'false_escalation'
                 WHEN c.missed_marked_at IS NOT NULL THEN 'missed'
               END AS flag
        FROM conversations c
        WHERE c.tenant_id = $1 AND c.agent_id = $2 AND c.environment = $3
          AND c.last_message_at >= $4 AND c.first_message_at < $5
        ORDER BY c.last_message_at DESC, c.conversation_id
        LIMIT $6
        """,
        tenant_id,
        agent_id,
        environment,
        start,
        end,
        limit,
    )
    return [
        StoredConversation(
            row["conversation_id"], list(row["messages"][:MAX_MESSAGES]), row["flag"]
        )
        for row in rows
        if row["messages"]
    ]
