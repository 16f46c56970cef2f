"""All of the detector's SQL: conversation states, read and saved with their versions (the
chat.messages handler), or locked for the length of a transaction (the idle timer, resumes)."""

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson

from detector.state import ConversationKey, ConversationState
from escalator_runtime.db import Connection


def _columns(keys: Sequence[ConversationKey]) -> tuple[list[str], list[str], list[str], list[str]]:
    return (
        [k.tenant_id for k in keys],
        [k.agent_id for k in keys],
        [k.environment for k in keys],
        [k.conversation_id for k in keys],
    )


async def lock_states(
    connection: Connection, keys: Iterable[ConversationKey]
) -> dict[ConversationKey, ConversationState]:
    """Load and row-lock the states of ``keys`` until the transaction ends (resumes: their
    save bumps the versions, so the chat.messages handler reads these states again). Keys are
    locked in sorted order, so two such transactions never deadlock.
    """
    ordered = sorted(
        set(keys), key=lambda k: (k.tenant_id, k.agent_id, k.environment, k.conversation_id)
    )
    if not ordered:
        return {}
    rows = await connection.fetch(
        """
        SELECT c.tenant_id, c.agent_id, c.environment, c.conversation_id, c.state
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS k(tenant_id, agent_id, environment, conversation_id, n)
        JOIN detector_conversations c USING (tenant_id, agent_id, environment, conversation_id)
        ORDER BY k.n
        FOR UPDATE OF c
        """,
        *_columns(ordered),
    )
    states = {
        ConversationKey(
            r["tenant_id"], r["agent_id"], r["environment"], r["conversation_id"]
        ): ConversationState.from_json(orjson.loads(r["state"]))
        for r in rows
    }
    return {key: states.get(key) or ConversationState() for key in ordered}


async def save_states(
    connection: Connection, states: dict[ConversationKey, ConversationState]
) -> None:
    if not states:
        return
    keys = list(states)
    await connection.execute(
        """
        INSERT INTO detector_conversations
            (tenant_id, agent_id, environment, conversation_id, state, idle_deadline, updated_at)
        SELECT k.tenant_id, k.agent_id, k.environment, k.conversation_id, k.state,
               k.idle_deadline, now()
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                    $6::timestamptz[])
             AS k(tenant_id, agent_id, environment, conversation_id, state, idle_deadline)
        ON CONFLICT (tenant_id, agent_id, environment, conversation_id) DO UPDATE
        SET state = EXCLUDED.state, idle_deadline = EXCLUDED.idle_deadline, updated_at = now(),
            version = detector_conversations.version + 1
        """,
        *_columns(keys),
        [orjson.dumps(states[k].to_json()) for k in keys],
        [states[k].idle_deadline for k in keys],
    )


async def read_states(
    connection: Connection, keys: Sequence[ConversationKey]
) -> dict[ConversationKey, tuple[int, ConversationState]]:
    """The stored states of ``keys`` with their versions, without locking them; a
    conversation never stored has no entry."""
    if not keys:
        return {}
    rows = await connection.fetch(
        """
        SELECT c.tenant_id, c.agent_id, c.environment, c.conversation_id, c.version, c.state
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             AS k(tenant_id, agent_id, environment, conversation_id)
        JOIN detector_conversations c USING (tenant_id, agent_id, environment, conversation_id)
        """,
        *_columns(keys),
    )
    return {
        ConversationKey(r["tenant_id"], r["agent_id"], r["environment"], r["conversation_id"]): (
            r["version"],
            ConversationState.from_json(orjson.loads(r["state"])),
        )
        for r in rows
    }


async def save_unchanged(
    connection: Connection, states: dict[ConversationKey, tuple[int | None, ConversationState]]
) -> dict[ConversationKey, int]:
    """Save each state whose stored version is still the one given (None: never stored), in
    one statement; returns the new versions of those saved. A state left out was written by
    someone else since it was read, and is left as they wrote it."""
    if not states:
        return {}
    keys = list(states)
    rows = await connection.fetch(
        """
        WITH k AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                                 $6::timestamptz[], $7::bigint[])
                 AS k(tenant_id, agent_id, environment, conversation_id, state, idle_deadline,
                      version)
        ), updated AS (
            UPDATE detector_conversations c
            SET state = k.state, idle_deadline = k.idle_deadline, updated_at = now(),
                version = c.version + 1
            FROM k
            WHERE c.tenant_id = k.tenant_id AND c.agent_id = k.agent_id
              AND c.environment = k.environment AND c.conversation_id = k.conversation_id
              AND c.version = k.version
            RETURNING c.tenant_id, c.agent_id, c.environment, c.conversation_id, c.version
        ), inserted AS (
            INSERT INTO detector_conversations
                (tenant_id, agent_id, environment, conversation_id, state, idle_deadline,
                 updated_at, version)
            SELECT tenant_id, agent_id, environment, conversation_id, state, idle_deadline,
                   now(), 1
            FROM k
            WHERE k.version IS NULL
            ON CONFLICT (tenant_id, agent_id, environment, conversation_id) DO NOTHING
            RETURNING tenant_id, agent_id, environment, conversation_id, version
        )
        SELECT * FROM updated UNION ALL SELECT * FROM inserted
        """,
        *_columns(keys),
        [orjson.dumps(states[k][1].to_json()) for k in keys],
        [states[k][1].idle_deadline for k in keys],
        [states[k][0] for k in keys],
    )
    return {
        ConversationKey(r["tenant_id"], r["agent_id"], r["environment"], r["conversation_id"]): r[
            "version"
        ]
        for r in rows
    }


async def lock_idle(
    connection: Connection, now: datetime, limit: int
) -> dict[ConversationKey, ConversationState]:
    """Conversations whose idle deadline passed, locked; ones another instance holds are
    skipped rather than waited for."""
    rows = await connection.fetch(
        """
        SELECT tenant_id, agent_id, environment, conversation_id, state
        FROM detector_conversations
        WHERE idle_deadline <= $1
        ORDER BY idle_deadline
        LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        now,
        limit,
    )
    return {
        ConversationKey(
            r["tenant_id"], r["agent_id"], r["environment"], r["conversation_id"]
        ): ConversationState.from_json(orjson.loads(r["state"]))
        for r in rows
    }


async def forget_idle_conversations(connection: Connection, older_than: datetime) -> int:
    """Retention: drop the state of conversations untouched since ``older_than``."""
    result = await connection.execute(
        "DELETE FROM detector_conversations WHERE updated_at < $1 AND idle_deadline IS NULL",
        older_than,
    )
    return int(result.split()[-1])
