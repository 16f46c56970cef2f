"""All of the router's SQL: routing decisions, supervisors' workloads, lifecycle events."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from escalator_runtime.db import Connection
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationCompleted,
    EscalationReassignedToAI,
    EscalationReleased,
    EscalationRouted,
    LifecycleEvent,
    SupervisorMatch,
)
from router.service import Workload


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router decided for one escalation, reused when the detection comes again."""

    matched_supervisors: list[SupervisorMatch]
    suggested_assignee: str | None


async def decisions(connection: Connection, escalation_ids: Sequence[UUID]) -> dict[UUID, Decision]:
    rows = await connection.fetch(
        "SELECT escalation_id, matched_supervisors, suggested_assignee FROM router_decisions"
        " WHERE escalation_id = ANY($1::uuid[])",
        list(escalation_ids),
    )
    return {
        row["escalation_id"]: Decision(
            [SupervisorMatch.model_validate(match) for match in row["matched_supervisors"]],
            row["suggested_assignee"],
        )
        for row in rows
    }


async def record_decision(connection: Connection, routed: EscalationRouted) -> Decision:
    """Store the decision; when another router instance stored one first, that one wins."""
    inserted = await connection.fetchval(
        """
        INSERT INTO router_decisions (escalation_id, tenant_id, agent_id, environment,
                                      matched_supervisors, suggested_assignee, config_version)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (escalation_id) DO NOTHING
        RETURNING escalation_id
        """,
        routed.escalation_id,
        routed.tenant_id,
        routed.agent_id,
        routed.environment.value,
        [match.model_dump(mode="json") for match in routed.matched_supervisors],
        routed.suggested_assignee,
        routed.config_version,
    )
    if inserted is None:
        return (await decisions(connection, [routed.escalation_id]))[routed.escalation_id]
    return Decision(routed.matched_supervisors, routed.suggested_assignee)


async def workloads(
    connection: Connection, tenant_id: str, environment: str, supervisor_ids: Sequence[str]
) -> dict[str, Workload]:
    rows = await connection.fetch(
        """
        SELECT s.id,
               (SELECT count(*) FROM router_assignments a
                 WHERE a.tenant_id = $1 AND a.environment = $2 AND a.supervisor_id = s.id)
                   AS in_progress,
               act.last_assigned_at
        FROM unnest($3::text[]) AS s(id)
        LEFT JOIN router_supervisor_activity act
               ON act.tenant_id = $1 AND act.environment = $2 AND act.supervisor_id = s.id
        """,
        tenant_id,
        environment,
        list(supervisor_ids),
    )
    return {row["id"]: Workload(row["in_progress"], row["last_assigned_at"]) for row in rows}


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
