"""All of the router's SQL: routing decisions, supervisors' workloads, lifecycle events."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from escalator_runtime.db import Connection
from escalator_schemas.config import Supervisor
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationCompleted,
    EscalationDetected,
    EscalationReassignedToAI,
    EscalationReleased,
    LifecycleEvent,
    SupervisorMatch,
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router decided for one escalation, reused when the detection comes again."""

    matched_supervisors: list[SupervisorMatch]
    suggested_assignee: str | None


Candidates = list[tuple[Supervisor, SupervisorMatch]]
"""Who matches an escalation, in configuration order, and how they are announced."""


async def route(
    connection: Connection,
    batch: Sequence[tuple[EscalationDetected, Candidates]],
    at: datetime,
) -> list[tuple[Decision, bool]]:
    """The decision of each escalation of ``batch``, and whether it was taken before (a
    redelivery, or another router instance's). New ones are taken in order, by the workloads
    in the database, and stored, in one statement (``router_route``, migration 0002, has the
    rule); a suggestion counts as an assignment ``at``."""
    rows = await connection.fetch(
        "SELECT * FROM router_route($1::jsonb, $2)",
        [
            {
                "n": n,
                "escalation_id": str(detected.escalation_id),
                "tenant_id": detected.tenant_id,
                "agent_id": detected.agent_id,
                "environment": detected.environment.value,
                "matched_supervisors": [match.model_dump(mode="json") for _s, match in matches],
                "candidates": [
                    {"supervisor_id": s.id, "max_concurrent": s.max_concurrent, "position": p}
                    for p, (s, _match) in enumerate(matches)
                ],
                "config_version": detected.config_version,
            }
            for n, (detected, matches) in enumerate(batch)
        ],
        at,
    )
    decided = []
    for row in sorted(rows, key=lambda row: int(row["n"])):
        stored = row["matched_supervisors"]  # a new decision's are the ones sent
        matches = (
            [match for _s, match in batch[row["n"]][1]]
            if stored is None
            else [SupervisorMatch.model_validate(match) for match in stored]
        )
        decided.append((Decision(matches, row["suggested_assignee"]), bool(row["replayed"])))
    return decided


async def mark_assigned(
    connection: Connection, tenant_id: str, environment: str, supervisor_id: str, at: datetime
) -> None:
    await connection.execute(
        """
        INSERT INTO router_supervisor_activity
            (tenant_id, environment, supervisor_id, last_assigned_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (tenant_id, environment, supervisor_id) DO UPDATE
        SET last_assigned_at = GREATEST(router_supervisor_activity.last_assigned_at,
                                        EXCLUDED.last_assigned_at)
        """,
        tenant_id,
        environment,
        supervisor_id,
        at,
    )


_ENDS_OWNERSHIP = (EscalationReleased, EscalationCompleted, EscalationReassignedToAI)


async def apply_lifecycle(connection: Connection, event: LifecycleEvent) -> bool:
    """Keep the in-progress table current; False when the event changes nothing (already
    applied, or not about ownership)."""
    if not isinstance(event, (EscalationClaimed, *_ENDS_OWNERSHIP)):
        return False
    first_time = await connection.fetchval(
        "INSERT INTO router_lifecycle_events (event_id, event_type) VALUES ($1, $2)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        event.event_id,
        event.event_type,
    )
    if first_time is None:
        return False
    environment = event.environment.value
    if isinstance(event, EscalationClaimed):
        await connection.execute(
            """
            INSERT INTO router_assignments
                (escalation_id, tenant_id, environment, supervisor_id, claimed_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (escalation_id) DO UPDATE
            SET supervisor_id = EXCLUDED.supervisor_id, claimed_at = EXCLUDED.claimed_at
            """,
            event.escalation_id,
            event.tenant_id,
            environment,
            event.supervisor_id,
            event.occurred_at,
        )
        await mark_assigned(
            connection, event.tenant_id, environment, event.supervisor_id, event.occurred_at
        )
    else:
        await connection.execute(
            "DELETE FROM router_assignments WHERE escalation_id = $1", event.escalation_id
        )
    return True
