"""All of queue-api's SQL for escalations and their audit timeline."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from escalator_runtime.db import Connection, Pool
from escalator_schemas.events import EscalationRouted
from queue_api import changes
from queue_api.models import EscalationSummary

COLUMNS = """
    escalation_id, tenant_id, agent_id, environment, conversation_id, status, urgency, severity,
    category, topic, area, reason, trigger, triggers, customer, transcript, turn_count,
    trigger_message_id, config_version, matched_supervisors, visible_to, suggested_assignee,
    unrouted, assigned_to, resolution_note, ai_could_have_handled, detected_at, updated_at,
    claimed_at, completed_at, revision, reassigned_to_ai, pending_since, sla_seconds,
    sla_deadline, sla_breached_at
"""
SUMMARY_COLUMNS = ", ".join(EscalationSummary.model_fields)
"""What a queue page shows of each escalation: not its transcript, triggers and matches, which
are most of a row's bytes (a page of 50 escalations routed to 50 supervisors: ~0.5 MB)."""


_ROUTED_RECORD = """
    n integer, escalation_id uuid, tenant_id text, agent_id text, environment text,
    conversation_id text, urgency text, severity text, category text, topic text, area text,
    reason text,
    trigger jsonb, triggers jsonb, customer jsonb, transcript jsonb, turn_count integer,
    trigger_message_id text, config_version bigint, matched_supervisors jsonb,
    visible_to jsonb, suggested_assignee text, unrouted boolean, detected_at timestamptz,
    detected_audit jsonb, routed_audit jsonb
"""


def without_nul(value: Any) -> Any:
    """``value`` with every U+0000 replaced by U+FFFD: PostgreSQL text and jsonb cannot hold
    it, and one such character must not make a whole batch of escalations fail."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _routed_record(n: int, event: EscalationRouted) -> dict[str, Any]:
    document = without_nul(event.model_dump(mode="json"))
    supervisors = [match["supervisor_id"] for match in document["matched_supervisors"]]
    return {
        **{
            key: document[key]
            for key in (
                "escalation_id", "tenant_id", "agent_id", "environment", "conversation_id",
                "urgency", "severity", "category", "topic", "area", "reason", "trigger",
                "triggers", "customer", "transcript", "turn_count", "trigger_message_id",
                "config_version", "matched_supervisors", "suggested_assignee", "unrouted",
            )
        },
        "n": n,
        "visible_to": supervisors,
        "detected_at": document["occurred_at"],
        "detected_audit": {"trigger": document["trigger"], "reason": document["reason"]},
        "routed_audit": {"supervisors": supervisors, "unrouted": document["unrouted"]},
    }  # fmt: skip


_INSERT_ROUTED = f"""
        WITH r AS (
            SELECT r.*,
                   COALESCE($2::integer, (c.config->>'unclaimed_sla_seconds')::integer,
                            $3::integer) AS sla_seconds
            FROM jsonb_to_recordset($1::jsonb) AS r({_ROUTED_RECORD})
            LEFT JOIN agent_configs c
                   ON c.tenant_id = r.tenant_id AND c.agent_id = r.agent_id
                  AND c.stage = CASE r.environment WHEN 'preview' THEN 'draft'
                                                   ELSE 'published' END
        ), stored AS (
            INSERT INTO escalations (
                escalation_id, tenant_id, agent_id, environment, conversation_id, urgency,
                severity, category, topic, area, reason, trigger, triggers, customer,
                transcript, turn_count, trigger_message_id, config_version,
                matched_supervisors, visible_to, suggested_assignee, unrouted, detected_at,
                pending_since, sla_seconds, sla_deadline)
            SELECT r.escalation_id, r.tenant_id, r.agent_id, r.environment, r.conversation_id,
                   r.urgency, r.severity, r.category, r.topic, r.area, r.reason, r.trigger,
                   r.triggers, r.customer, r.transcript, r.turn_count, r.trigger_message_id,
                   r.config_version, r.matched_supervisors,
                   ARRAY(SELECT jsonb_array_elements_text(r.visible_to)), r.suggested_assignee,
                   r.unrouted, r.detected_at, r.detected_at, r.sla_seconds,
                   r.detected_at + make_interval(secs => r.sla_seconds)
            FROM r
            ORDER BY r.n
            ON CONFLICT (escalation_id) DO NOTHING
            RETURNING {COLUMNS}
        ), audit AS (
            INSERT INTO escalation_audit (escalation_id, action, actor, at, detail)
            SELECT stored.escalation_id, a.action, a.actor, r.detected_at, a.detail
            FROM stored JOIN r USING (escalation_id)
            CROSS JOIN LATERAL (VALUES (1, 'detected', 'detector', r.detected_audit),
                                       (2, 'routed', 'router', r.routed_audit))
                 AS a(step, action, actor, detail)
            ORDER BY stored.detected_at, stored.escalation_id, a.step
        ), head AS ({
    changes.take_heads_sql(
        "SELECT tenant_id, count(*) FROM stored GROUP BY tenant_id ORDER BY tenant_id"
    )
}
        ), fed AS (
            SELECT stored.*, r.n,
                   head.seq - count(*) OVER (PARTITION BY stored.tenant_id)
                     + row_number() OVER (PARTITION BY stored.tenant_id ORDER BY r.n) AS seq,
                   head.seq AS head,
                   {changes.summary_sql("stored")} AS summary
            FROM stored JOIN r USING (escalation_id) JOIN head ON head.tenant_id = stored.tenant_id
        ), appended AS (
            INSERT INTO escalation_changes
                (tenant_id, seq, escalation_id, type, action, audience, escalation)
            SELECT tenant_id, seq, escalation_id, 'escalation.created', 'detected', visible_to,
                   summary
            FROM fed
        )
        SELECT {COLUMNS}, seq, summary::text AS escalation,
               CASE WHEN seq = head
                    THEN pg_notify($4, {changes.notice_sql("tenant_id", "seq", "$5::text")}) END
        FROM fed
        ORDER BY n
        """  # noqa: S608 - the fragments are ours


async def insert_routed(
    connection: Connection,
    events: list[EscalationRouted],
    sla_override: int | None,
    default_sla_seconds: int,
    origin: str | None = None,
) -> list[asyncpg.Record]:
    """Store routed escalations, with their "detected" and "routed" audit entries, and append
    them to their tenants' change feeds (``changes``; the listeners are notified on commit, by
    ``origin`` as in ``changes.record``), in one statement: one round trip, atomic on its own
    (this is on the path of every escalation to the supervisors). One already stored is left
    as it is, the same event twice in a batch stored once. Returns the new rows, each with its
    change's ``seq`` and ``escalation`` (the summary pushed, as JSON text).

    The unclaimed SLA is ``sla_override`` when set, else the agent's setting (its published
    configuration; the draft for preview conversations), else ``default_sla_seconds``. Its
    clock starts at detection: the customer has been waiting since then."""
    if not events:
        return []
    rows: list[asyncpg.Record] = await connection.fetch(
        _INSERT_ROUTED,
        [
            _routed_record(n, event)
            # The same event twice in a batch (a replay) is stored once.
            for n, event in enumerate({e.escalation_id: e for e in events}.values())
        ],
        sla_override,
        default_sla_seconds,
        changes.CHANNEL,
        origin,
    )
    return rows


async def add_audit(
    connection: Connection,
    escalation_id: UUID,
    action: str,
    actor: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await connection.execute(
        "INSERT INTO escalation_audit (escalation_id, action, actor, detail)"
        " VALUES ($1, $2, $3, $4)",
        escalation_id,
        action,
        actor,
        detail or {},
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    detected_at: datetime
    escalation_id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.detected_at.isoformat(), str(self.escalation_id)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            detected_at, escalation_id = json.loads(raw)
            moment = datetime.fromisoformat(detected_at)
            cursor = cls(moment, UUID(escalation_id))
        except (binascii.Error, ValueError, TypeError, AttributeError) as error:
            raise ValueError("malformed cursor") from error
        if moment.tzinfo is None:
            raise ValueError("malformed cursor: the time has no offset")
        return cursor


@dataclass(frozen=True, slots=True)
class Visibility:
    """Whose queue: an admin sees the whole tenant, a supervisor what was routed (or offered)
    to them or what they own."""

    tenant_id: str
    supervisor_id: str
    admin: bool

    def can_see(self, visible_to: list[str], assigned_to: str | None) -> bool:
        return self.admin or self.supervisor_id in visible_to or self.supervisor_id == assigned_to


def _visibility_clause(visibility: Visibility, args: list[Any]) -> str:
    args.append(visibility.tenant_id)
    clause = f"tenant_id = ${len(args)}"
    if not visibility.admin:
        args.append(visibility.supervisor_id)
        n = len(args)
        clause += f" AND (visible_to @> ARRAY[${n}]::text[] OR assigned_to = ${n})"
    return clause


async def list_escalations(
    pool: Pool,
    visibility: Visibility,
    filters: dict[str, str],
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[asyncpg.Record], Cursor | None]:
    """A page of the escalations ``visibility`` may see, newest first, as ``EscalationSummary``
    columns (``SUMMARY_COLUMNS``), and the cursor of the next page."""
    args: list[Any] = []
    where = [_visibility_clause(visibility, args)]
    for column, value in filters.items():
        args.append(value)
        where.append(f"{column} = ${len(args)}")
    if cursor is not None:
        args.extend([cursor.detected_at, cursor.escalation_id])
        where.append(f"(detected_at, escalation_id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {SUMMARY_COLUMNS} FROM escalations WHERE {' AND '.join(where)}"  # noqa: S608 - columns are ours
        f" ORDER BY detected_at DESC, escalation_id DESC LIMIT ${len(args)}",
        *args,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = Cursor(last["detected_at"], last["escalation_id"])
    return rows, next_cursor


async def get_escalation(
    connection: Connection | Pool, visibility: Visibility, escalation_id: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]] | None:
    args: list[Any] = []
    clause = _visibility_clause(visibility, args)
    args.append(escalation_id)
    row = await connection.fetchrow(
        f"SELECT {COLUMNS} FROM escalations WHERE {clause} AND escalation_id = ${len(args)}",  # noqa: S608
        *args,
    )
    if row is None:
        return None
    audit = await connection.fetch(
        "SELECT action, actor, at, detail FROM escalation_audit"
        " WHERE escalation_id = $1 ORDER BY id",
        escalation_id,
    )
    return row, audit


# --- state changes ---------------------------------------------------------------------------
# Each runs inside the caller's transaction, which also writes the audit entry, the outbox
# events and the change feed row: all of it commits, or none of it.


async def claim(
    connection: Connection, visibility: Visibility, escalation_id: UUID
) -> asyncpg.Record | None:
    """One conditional UPDATE: of any number of concurrent claimers exactly one gets the row
    (the others wait for its lock, then find the status no longer pending)."""
    args: list[Any] = [visibility.supervisor_id, escalation_id]
    clause = _visibility_clause(visibility, args)
    return await connection.fetchrow(
        f"""
        UPDATE escalations
        SET status = 'in_progress', assigned_to = $1, claimed_at = now(), updated_at = now(),
            revision = revision + 1, sla_deadline = NULL
        WHERE escalation_id = $2 AND status = 'pending' AND {clause}
        RETURNING {COLUMNS}
        """,  # noqa: S608 - the clause and the column list are ours
        *args,
    )


async def lock_escalation(
    connection: Connection, tenant_id: str, escalation_id: UUID
) -> asyncpg.Record | None:
    """The tenant's escalation, locked until the transaction ends."""
    return await connection.fetchrow(
        f"SELECT {COLUMNS} FROM escalations"  # noqa: S608 - the column list is ours
        " WHERE escalation_id = $1 AND tenant_id = $2 FOR UPDATE",
        escalation_id,
        tenant_id,
    )


async def release(connection: Connection, escalation_id: UUID) -> asyncpg.Record:
    """Back to pending. The SLA clock restarts unless the SLA was already breached once."""
    row = await connection.fetchrow(
        f"""
        UPDATE escalations
        SET status = 'pending', assigned_to = NULL, claimed_at = NULL, updated_at = now(),
            revision = revision + 1, pending_since = now(),
            sla_deadline = CASE WHEN sla_breached_at IS NULL
                                THEN now() + make_interval(secs => sla_seconds) END
        WHERE escalation_id = $1
        RETURNING {COLUMNS}
        """,  # noqa: S608 - the column list is ours
        escalation_id,
    )
    assert row is not None  # noqa: S101 - the caller holds the row's lock
    return row


async def complete(
    connection: Connection,
    escalation_id: UUID,
    resolution_note: str | None,
    ai_could_have_handled: bool,
    reassigned_to_ai: bool,
) -> asyncpg.Record:
    row = await connection.fetchrow(
        f"""
        UPDATE escalations
        SET status = 'completed', resolution_note = $2, ai_could_have_handled = $3,
            reassigned_to_ai = $4, completed_at = now(), updated_at = now(),
            revision = revision + 1, sla_deadline = NULL
        WHERE escalation_id = $1
        RETURNING {COLUMNS}
        """,  # noqa: S608 - the column list is ours
        escalation_id,
        resolution_note,
        ai_could_have_handled,
        reassigned_to_ai,
    )
    assert row is not None  # noqa: S101 - the caller holds the row's lock
    return row


async def lock_overdue(connection: Connection, limit: int) -> list[asyncpg.Record]:
    """Pending escalations past their SLA deadline, not yet breached. Rows another sweeper
    holds are skipped; the ones returned stay locked until the transaction ends."""
    rows: list[asyncpg.Record] = await connection.fetch(
        f"""
        SELECT {COLUMNS} FROM escalations
        WHERE status = 'pending' AND sla_breached_at IS NULL AND sla_deadline <= now()
        ORDER BY sla_deadline
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,  # noqa: S608 - the column list is ours
        limit,
    )
    return rows


async def mark_sla_breached(
    connection: Connection, escalation_id: UUID, offered_to: list[str]
) -> asyncpg.Record:
    row = await connection.fetchrow(
        f"""
        UPDATE escalations
        SET sla_breached_at = now(), sla_deadline = NULL, updated_at = now(),
            revision = revision + 1,
            visible_to = ARRAY(SELECT DISTINCT unnest(visible_to || $2::text[]) ORDER BY 1)
        WHERE escalation_id = $1
        RETURNING {COLUMNS}
        """,  # noqa: S608 - the column list is ours
        escalation_id,
        offered_to,
    )
    assert row is not None  # noqa: S101 - the caller holds the row's lock
    return row
