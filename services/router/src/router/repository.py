"""All of the router's SQL: routing decisions, supervisors' workloads, lifecycle events."""

from collections.abc import Iterable, Sequence
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


async def record_decisions(
    connection: Connection, routed: Sequence[EscalationRouted], at: datetime
) -> dict[UUID, Decision]:
    """Store new decisions and mark their suggested supervisors as assigned ``at``, in one
    statement. When another router instance stored a decision first, that one wins: the
    decisions returned are the ones stored."""
    if not routed:
        return {}
    inserted = await connection.fetch(
        """
        WITH d AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb)
                AS d(escalation_id uuid, tenant_id text, agent_id text, environment text,
                     matched_supervisors jsonb, suggested_assignee text, config_version bigint)
        ), inserted AS (
            INSERT INTO router_decisions (escalation_id, tenant_id, agent_id, environment,
                                          matched_supervisors, suggested_assignee,
                                          config_version)
            SELECT escalation_id, tenant_id, agent_id, environment, matched_supervisors,
                   suggested_assignee, config_version
            FROM d
            ON CONFLICT (escalation_id) DO NOTHING
            RETURNING escalation_id, tenant_id, environment, suggested_assignee
        ), marked AS (
            INSERT INTO router_supervisor_activity
                (tenant_id, environment, supervisor_id, last_assigned_at)
            SELECT DISTINCT tenant_id, environment, suggested_assignee, $2::timestamptz
            FROM inserted
            WHERE suggested_assignee IS NOT NULL
            ON CONFLICT (tenant_id, environment, supervisor_id) DO UPDATE
            SET last_assigned_at = GREATEST(router_supervisor_activity.last_assigned_at,
                                            EXCLUDED.last_assigned_at)
        )
        SELECT escalation_id FROM inserted
        """,
        [
            {
                "escalation_id": str(event.escalation_id),
                "tenant_id": event.tenant_id,
                "agent_id": event.agent_id,
                "environment": event.environment.value,
                "matched_supervisors": [
                    match.model_dump(mode="json") for match in event.matched_supervisors
                ],
                "suggested_assignee": event.suggested_assignee,
                "config_version": event.config_version,
            }
            for event in routed
        ],
        at,
    )
    ours = {row["escalation_id"] for row in inserted}
    stored = {
        event.escalation_id: Decision(event.matched_supervisors, event.suggested_assignee)
        for event in routed
        if event.escalation_id in ours
    }
    theirs = [event.escalation_id for event in routed if event.escalation_id not in ours]
    if theirs:
        stored |= await decisions(connection, theirs)
    return stored


async def decisions_and_workloads(
    connection: Connection,
    escalation_ids: Sequence[UUID],
    supervisors: Iterable[tuple[str, str, str]],
) -> tuple[dict[UUID, Decision], dict[tuple[str, str, str], Workload]]:
    """The decisions already stored for ``escalation_ids`` and how busy each ``(tenant_id,
    environment, supervisor_id)`` is: what routing a batch needs to read, in one round trip."""
    keys = sorted(set(supervisors))
    row = await connection.fetchrow(
        """
        SELECT
            (SELECT coalesce(json_agg(json_build_object(
                        'escalation_id', d.escalation_id,
                        'matched_supervisors', d.matched_supervisors,
                        'suggested_assignee', d.suggested_assignee)), '[]')
             FROM router_decisions d
             WHERE d.escalation_id = ANY($1::uuid[])) AS decisions,
            (SELECT coalesce(json_agg(json_build_object(
                        'tenant_id', k.tenant_id,
                        'environment', k.environment,
                        'supervisor_id', k.supervisor_id,
                        'in_progress',
                        (SELECT count(*) FROM router_assignments a
                          WHERE a.tenant_id = k.tenant_id AND a.environment = k.environment
                            AND a.supervisor_id = k.supervisor_id),
                        'last_assigned_at', act.last_assigned_at)), '[]')
             FROM unnest($2::text[], $3::text[], $4::text[])
                  AS k(tenant_id, environment, supervisor_id)
             LEFT JOIN router_supervisor_activity act
                       USING (tenant_id, environment, supervisor_id)) AS workloads
        """,
        list(escalation_ids),
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
    )
    assert row is not None  # noqa: S101 - a SELECT without FROM always has its row
    decided = {
        UUID(d["escalation_id"]): Decision(
            [SupervisorMatch.model_validate(match) for match in d["matched_supervisors"]],
            d["suggested_assignee"],
        )
        for d in row["decisions"]
    }
    loads = {
        (w["tenant_id"], w["environment"], w["supervisor_id"]): Workload(
            w["in_progress"],
            datetime.fromisoformat(w["last_assigned_at"]) if w["last_assigned_at"] else None,
        )
        for w in row["workloads"]
    }
    return decided, loads


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
