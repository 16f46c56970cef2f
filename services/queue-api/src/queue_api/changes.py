"""The change feed behind the realtime stream: one row per new or changed escalation, written in
the transaction of the change itself, numbered per tenant (``seq``).

Numbers come from the tenant's head row, which the writing transaction keeps locked until it
commits: a tenant's changes commit in ``seq`` order, so whoever has read up to ``seq`` n has seen
every change below n, and a client reconnecting with ``since`` misses nothing. Heads are taken
last in a transaction (or in the one statement that stores a new escalation) and in tenant
order, so writers never wait on each other in a cycle.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg

from escalator_runtime.db import Connection, Pool
from queue_api.models import EscalationSummary

CHANNEL = "escalator_escalation_changes"

ChangeType = Literal["escalation.created", "escalation.updated"]


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """What to announce: the escalation's row after the change, and who must hear of it beyond
    who can see it now (e.g. the supervisor who just lost ownership)."""

    row: asyncpg.Record
    action: str
    type: ChangeType = "escalation.updated"
    also_tell: frozenset[str] = field(default_factory=frozenset)

    @property
    def tenant_id(self) -> str:
        return str(self.row["tenant_id"])

    def audience(self) -> list[str]:
        people = set(self.row["visible_to"]) | self.also_tell
        if self.row["assigned_to"]:
            people.add(self.row["assigned_to"])
        return sorted(people)


@dataclass(frozen=True, slots=True)
class Change:
    """One change as pushed: ``text`` is the serialized message, built once for every
    connection that may see it."""

    tenant_id: str
    seq: int
    audience: frozenset[str]
    text: str

    @classmethod
    def of(
        cls,
        tenant_id: str,
        seq: int,
        type: str,
        action: str,
        audience: Iterable[str],
        escalation: str,
    ) -> "Change":
        """``escalation``: the escalation summary, serialized."""
        text = (
            f'{{"seq": {seq}, "type": {json.dumps(type)}, "action": {json.dumps(action)},'
            f' "escalation": {escalation}}}'
        )
        return cls(tenant_id, seq, frozenset(audience), text)


# An escalations row's timestamp as pydantic writes it in JSON (UTC, "Z", microseconds only
# when there are some), whatever the session's time zone.
_JSON_TIME = (
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN date_part('microseconds', {0})::bigint % 1000000 = 0 THEN ''"
    " ELSE to_char({0} AT TIME ZONE 'UTC', '.US') END || 'Z'"
)


def summary_sql(row: str) -> str:
    """The JSON object ``EscalationSummary.model_dump(mode="json")`` makes of the escalations
    row ``row``, built by PostgreSQL: a change can then be appended in the statement that
    stores the escalation (``repository.insert_routed``). The fields are the model's."""
    pairs = []
    for name, spec in EscalationSummary.model_fields.items():
        column = f"{row}.{name}"
        timestamp = spec.annotation in (datetime, datetime | None)
        pairs.append(f"'{name}', {_JSON_TIME.format(column) if timestamp else column}")
    return f"jsonb_build_object({', '.join(pairs)})"


def take_heads_sql(counts: str) -> str:
    """The statement (for a ``WITH``) that numbers new changes: ``counts`` yields
    ``(tenant_id, how many)`` rows, in tenant order; it returns each tenant's new head ``seq``,
    its changes being the numbers up to it. The head rows stay locked until the commit."""
    return f"""
        INSERT INTO escalation_change_heads AS h (tenant_id, seq) {counts}
        ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + EXCLUDED.seq
        RETURNING tenant_id, seq"""


def notice_sql(tenant_id: str, seq: str, origin: str) -> str:
    """The ``NOTIFY`` payload of a feed's new head, as ``StreamHub`` reads it."""
    return f"json_build_object('tenant_id', {tenant_id}, 'seq', {seq}, 'origin', {origin})::text"


async def record(
    connection: Connection, changes: list[ChangeRecord], origin: str | None = None
) -> list[Change]:
    """Append ``changes`` to their tenants' feeds and wake the listeners (on commit).

    Call last in the transaction. Returns the changes as pushed, numbered: once the transaction
    committed, the process's hub can take them without reading them back (``StreamHub.announce``).
    ``origin``: that hub's ``origin``, so that it leaves the notification to the announcement.
    """
    by_tenant: dict[str, list[ChangeRecord]] = {}
    for change in changes:
        by_tenant.setdefault(change.tenant_id, []).append(change)
    appended: list[Change] = []
    for tenant_id in sorted(by_tenant):
        batch = [
            (
                change,
                EscalationSummary.model_validate(dict(change.row)).model_dump(mode="json"),
                change.audience(),
            )
            for change in by_tenant[tenant_id]
        ]
        # One statement, one round trip: take the numbers, append the changes, notify.
        head: int = await connection.fetchval(
            f"""
            WITH head AS ({take_heads_sql("VALUES ($1, $2)")}
            ), appended AS (
                INSERT INTO escalation_changes
                    (tenant_id, seq, escalation_id, type, action, audience, escalation)
                SELECT $1, head.seq - $2 + c.n, c.escalation_id, c.type, c.action,
                       ARRAY(SELECT jsonb_array_elements_text(c.audience)), c.escalation
                FROM head, jsonb_to_recordset($3::jsonb)
                     AS c(n integer, escalation_id uuid, type text, action text, audience jsonb,
                          escalation jsonb)
            )
            SELECT seq, pg_notify($4, {notice_sql("$1::text", "seq", "$5::text")})
            FROM head
            """,  # noqa: S608 - the fragments are ours
            tenant_id,
            len(batch),
            [
                {
                    "n": n,
                    "escalation_id": str(change.row["escalation_id"]),
                    "type": change.type,
                    "action": change.action,
                    "audience": audience,
                    "escalation": summary,
                }
                for n, (change, summary, audience) in enumerate(batch, start=1)
            ],
            CHANNEL,
            origin,
        )
        first = head - len(batch) + 1
        appended += [
            Change.of(
                tenant_id, first + i, change.type, change.action, audience, json.dumps(summary)
            )
            for i, (change, summary, audience) in enumerate(batch)
        ]
    return appended


async def since(pool: Pool, tenant_id: str, after: int, limit: int) -> list[Change]:
    """The tenant's changes after ``after``, in order."""
    rows = await pool.fetch(
        "SELECT seq, type, action, audience, escalation::text AS escalation"
        " FROM escalation_changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        tenant_id,
        after,
        limit,
    )
    return [
        Change.of(
            tenant_id, row["seq"], row["type"], row["action"], row["audience"], row["escalation"]
        )
        for row in rows
    ]


async def head(pool: Pool, tenant_id: str) -> int:
    """The tenant's latest ``seq`` (0 before its first change)."""
    value = await pool.fetchval(
        "SELECT seq FROM escalation_change_heads WHERE tenant_id = $1", tenant_id
    )
    return int(value or 0)


async def heads(pool: Pool, tenant_ids: list[str]) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT tenant_id, seq FROM escalation_change_heads WHERE tenant_id = ANY($1::text[])",
        tenant_ids,
    )
    return {row["tenant_id"]: row["seq"] for row in rows}


async def oldest(pool: Pool, tenant_id: str) -> int | None:
    """The tenant's oldest ``seq`` still kept (None when none is)."""
    value = await pool.fetchval(
        "SELECT min(seq) FROM escalation_changes WHERE tenant_id = $1", tenant_id
    )
    return int(value) if value is not None else None


async def prune(pool: Pool, older_than_hours: float) -> int:
    """Forget changes older than the replay window; clients further behind reload the list."""
    status: str = await pool.execute(
        "DELETE FROM escalation_changes WHERE at < now() - make_interval(secs => $1)",
        older_than_hours * 3600.0,
    )
    return int(status.rsplit(" ", 1)[-1])
