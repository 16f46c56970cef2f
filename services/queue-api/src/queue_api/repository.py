"""All of queue-api's SQL for escalations."""

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

_COLUMNS = """
    escalation_id, tenant_id, agent_id, environment, conversation_id, status, urgency, severity,
    category, topic, area, reason, trigger, triggers, customer, transcript, turn_count,
    trigger_message_id, config_version, matched_supervisors, visible_to, suggested_assignee,
    unrouted, assigned_to, resolution_note, ai_could_have_handled, detected_at, updated_at,
    claimed_at, completed_at
"""


async def insert_routed(connection: Connection, events: list[EscalationRouted]) -> list[UUID]:
    """Store routed escalations; one already stored is left as it is. Returns the new ids."""
    inserted: list[UUID] = []
    for event in events:
        document = event.model_dump(mode="json")
        escalation_id = await connection.fetchval(
            """
            INSERT INTO escalations (
                escalation_id, tenant_id, agent_id, environment, conversation_id, urgency,
                severity, category, topic, area, reason, trigger, triggers, customer, transcript,
                turn_count, trigger_message_id, config_version, matched_supervisors, visible_to,
                suggested_assignee, unrouted, detected_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    $18, $19, $20, $21, $22, $23)
            ON CONFLICT (escalation_id) DO NOTHING
            RETURNING escalation_id
            """,
            event.escalation_id,
            event.tenant_id,
            event.agent_id,
            event.environment.value,
            event.conversation_id,
            event.urgency.value,
            event.severity.value,
            event.category,
            event.topic.value,
            event.area.value,
            event.reason,
            document["trigger"],
            document["triggers"],
            document["customer"],
            document["transcript"],
            event.turn_count,
            event.trigger_message_id,
            event.config_version,
            document["matched_supervisors"],
            [match.supervisor_id for match in event.matched_supervisors],
            event.suggested_assignee,
            event.unrouted,
            event.occurred_at,
        )
        if escalation_id is None:
            continue
        inserted.append(escalation_id)
        await connection.executemany(
            "INSERT INTO escalation_audit (escalation_id, action, actor, at, detail)"
            " VALUES ($1, $2, $3, $4, $5)",
            [
                (
                    event.escalation_id,
                    "detected",
                    "detector",
                    event.occurred_at,
                    {"trigger": document["trigger"], "reason": event.reason},
                ),
                (
                    event.escalation_id,
                    "routed",
                    "router",
                    event.occurred_at,
                    {
                        "supervisors": [m.supervisor_id for m in event.matched_supervisors],
                        "unrouted": event.unrouted,
                    },
                ),
            ],
        )
    return inserted


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
            return cls(datetime.fromisoformat(detected_at), UUID(escalation_id))
        except (binascii.Error, ValueError, TypeError) as error:
            raise ValueError("malformed cursor") from error


@dataclass(frozen=True, slots=True)
class Visibility:
    """Whose queue: an admin sees the whole tenant, a supervisor what was routed to them."""

    tenant_id: str
    supervisor_id: str
    admin: bool


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
        f"SELECT {_COLUMNS} FROM escalations WHERE {' AND '.join(where)}"  # noqa: S608 - columns are ours
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
    pool: Pool, visibility: Visibility, escalation_id: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]] | None:
    args: list[Any] = []
    clause = _visibility_clause(visibility, args)
    args.append(escalation_id)
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM escalations WHERE {clause} AND escalation_id = ${len(args)}",  # noqa: S608
        *args,
    )
    if row is None:
        return None
    audit = await pool.fetch(
        "SELECT action, actor, at, detail FROM escalation_audit"
        " WHERE escalation_id = $1 ORDER BY id",
        escalation_id,
    )
    return row, audit
