"""What supervisors do with an escalation: claim, release, complete, hand back to the AI.

The rules are plain functions (``check_*``, ``*_event``); the ``async`` functions run one
transaction each that changes the row, appends the audit entry, writes the events to the outbox
and the change to the realtime feed, so all of it happens or none of it does.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Histogram

from escalator_runtime.db import Connection, Pool
from escalator_schemas import topics
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationCompleted,
    EscalationReassignedToAI,
    EscalationReleased,
    HandoffCommand,
)
from escalator_schemas.ids import event_id_for
from queue_api import changes, outbox, repository
from queue_api.changes import Change, ChangeRecord
from queue_api.hub import StreamHub
from queue_api.repository import Visibility

Actor = Visibility

_WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200)
TIME_TO_CLAIM = Histogram(
    "escalator_time_to_claim_seconds",
    "From detection to a supervisor's claim",
    ["environment"],
    buckets=_WAIT_BUCKETS,
)
TIME_TO_RESOLVE = Histogram(
    "escalator_time_to_resolve_seconds",
    "From detection to completion or hand-back to the AI",
    ["environment", "outcome"],
    buckets=_WAIT_BUCKETS,
)


def _observe_wait(histogram: Histogram, row: asyncpg.Record, until: str, *labels: str) -> None:
    # Observed after the commit: a refused or rolled-back action is no claim or resolution.
    if row["detected_at"] is not None and row[until] is not None:
        seconds = (row[until] - row["detected_at"]).total_seconds()
        histogram.labels(row["environment"], *labels).observe(max(seconds, 0.0))


class Refusal(Exception):
    """The action is not possible; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(Refusal):
    status = 404


class Forbidden(Refusal):
    status = 403


class Conflict(Refusal):
    status = 409


@dataclass(frozen=True, slots=True)
class EscalationState:
    status: str
    assigned_to: str | None
    visible_to: tuple[str, ...]

    @classmethod
    def of(cls, row: asyncpg.Record) -> "EscalationState":
        return cls(row["status"], row["assigned_to"], tuple(row["visible_to"]))


def _check_visible(state: EscalationState | None, actor: Actor) -> EscalationState:
    # Another tenant's escalation, or one the supervisor may not see, does not exist for them.
    if state is None or not actor.can_see(list(state.visible_to), state.assigned_to):
        raise NotFound("no such escalation")
    return state


def why_claim_failed(state: EscalationState | None, actor: Actor) -> Refusal:
    """The refusal for a claim whose conditional update matched no row."""
    try:
        state = _check_visible(state, actor)
    except NotFound as refusal:
        return refusal
    if state.status == "in_progress":
        return Conflict(f"already claimed by {state.assigned_to}")
    if state.status == "completed":
        return Conflict("the escalation is already completed")
    return Conflict("the escalation changed meanwhile; try again")


def _check_owner_or_admin(state: EscalationState, actor: Actor, verb: str) -> None:
    if state.status != "in_progress":
        raise Conflict(f"only an escalation in progress can be {verb}; it is {state.status}")
    if not actor.admin and state.assigned_to != actor.supervisor_id:
        raise Forbidden(f"only its owner ({state.assigned_to}) or an admin can do that")


def check_release(state: EscalationState | None, actor: Actor) -> EscalationState:
    state = _check_visible(state, actor)
    _check_owner_or_admin(state, actor, "released")
    return state


def check_complete(state: EscalationState | None, actor: Actor) -> EscalationState:
    state = _check_visible(state, actor)
    _check_owner_or_admin(state, actor, "completed")
    return state


def check_reassign_to_ai(state: EscalationState | None, actor: Actor) -> EscalationState:
    """A pending escalation may go back to the AI by anyone who sees it; one in progress only
    by its owner or an admin."""
    state = _check_visible(state, actor)
    if state.status == "completed":
        raise Conflict("the escalation is already completed")
    if state.status == "in_progress":
        _check_owner_or_admin(state, actor, "reassigned")
    return state


def envelope(row: asyncpg.Record, event_type: str, discriminator: str) -> dict[str, Any]:
    """The envelope of an event about ``row``, with an id that a retry reproduces."""
    return {
        "event_id": event_id_for(row["escalation_id"], event_type, discriminator),
        "tenant_id": row["tenant_id"],
        "agent_id": row["agent_id"],
        "environment": row["environment"],
        "escalation_id": row["escalation_id"],
        "conversation_id": row["conversation_id"],
    }


def _revision(row: asyncpg.Record) -> str:
    return f"r{row['revision']}"


def claimed_event(row: asyncpg.Record) -> EscalationClaimed:
    return EscalationClaimed(
        **envelope(row, "escalation.claimed", _revision(row)), supervisor_id=row["assigned_to"]
    )


def released_event(row: asyncpg.Record, owner: str, actor: Actor) -> EscalationReleased:
    return EscalationReleased(
        **envelope(row, "escalation.released", _revision(row)),
        supervisor_id=owner,
        released_by=actor.supervisor_id,
    )


def completed_event(row: asyncpg.Record, actor: Actor) -> EscalationCompleted:
    return EscalationCompleted(
        **envelope(row, "escalation.completed", _revision(row)),
        supervisor_id=actor.supervisor_id,
        resolution_note=row["resolution_note"],
        ai_could_have_handled=row["ai_could_have_handled"],
    )


def reassigned_events(
    row: asyncpg.Record, actor: Actor
) -> tuple[EscalationReassignedToAI, HandoffCommand]:
    return (
        EscalationReassignedToAI(
            **envelope(row, "escalation.reassigned_to_ai", _revision(row)),
            reassigned_by=actor.supervisor_id,
        ),
        HandoffCommand(
            **envelope(row, "chat.handoff", f"resume_ai:{row['revision']}"), kind="resume_ai"
        ),
    )


async def _record(
    connection: Connection, hub: StreamHub | None, records: list[ChangeRecord]
) -> list[Change]:
    """``changes.record``, signed as this process's hub's (call last in the transaction; the
    caller announces the changes once it committed)."""
    return await changes.record(connection, records, hub.origin if hub is not None else None)


async def claim(
    pool: Pool, actor: Actor, escalation_id: UUID, hub: StreamHub | None = None
) -> list[Change]:
    async with pool.acquire() as connection, connection.transaction():
        row = await repository.claim(connection, actor, escalation_id)
        if row is None:
            current = await repository.lock_escalation(connection, actor.tenant_id, escalation_id)
            raise why_claim_failed(EscalationState.of(current) if current else None, actor)
        await repository.add_audit(connection, escalation_id, "claimed", actor.supervisor_id)
        await outbox.enqueue(connection, topics.ESCALATIONS_LIFECYCLE, [claimed_event(row)])
        pushed = await _record(connection, hub, [ChangeRecord(row, "claimed")])
    _observe_wait(TIME_TO_CLAIM, row, "claimed_at")
    return pushed


async def _locked_state(
    connection: Connection, actor: Actor, escalation_id: UUID
) -> EscalationState | None:
    current = await repository.lock_escalation(connection, actor.tenant_id, escalation_id)
    return EscalationState.of(current) if current else None


async def release(
    pool: Pool, actor: Actor, escalation_id: UUID, hub: StreamHub | None = None
) -> list[Change]:
    async with pool.acquire() as connection, connection.transaction():
        state = check_release(await _locked_state(connection, actor, escalation_id), actor)
        owner = state.assigned_to or actor.supervisor_id
        row = await repository.release(connection, escalation_id)
        await repository.add_audit(
            connection, escalation_id, "released", actor.supervisor_id, {"owner": owner}
        )
        await outbox.enqueue(
            connection, topics.ESCALATIONS_LIFECYCLE, [released_event(row, owner, actor)]
        )
        return await _record(
            connection, hub, [ChangeRecord(row, "released", also_tell=frozenset({owner}))]
        )


async def complete(
    pool: Pool,
    actor: Actor,
    escalation_id: UUID,
    resolution_note: str,
    ai_could_have_handled: bool,
    hub: StreamHub | None = None,
) -> list[Change]:
    async with pool.acquire() as connection, connection.transaction():
        state = check_complete(await _locked_state(connection, actor, escalation_id), actor)
        row = await repository.complete(
            connection, escalation_id, resolution_note, ai_could_have_handled, False
        )
        await repository.add_audit(
            connection,
            escalation_id,
            "completed",
            actor.supervisor_id,
            {
                "owner": state.assigned_to,
                "resolution_note": resolution_note,
                "ai_could_have_handled": ai_could_have_handled,
            },
        )
        completed = completed_event(row, actor)
        await outbox.enqueue(connection, topics.ESCALATIONS_LIFECYCLE, [completed])
        pushed = await _record(connection, hub, [ChangeRecord(row, "completed")])
    _observe_wait(TIME_TO_RESOLVE, row, "completed_at", "completed")
    return pushed


async def reassign_to_ai(
    pool: Pool, actor: Actor, escalation_id: UUID, hub: StreamHub | None = None
) -> list[Change]:
    """The conversation goes back to the AI: the escalation is completed, flagged
    ``reassigned_to_ai``, and the chat backend told to resume the AI (``resume_ai``)."""
    async with pool.acquire() as connection, connection.transaction():
        state = check_reassign_to_ai(await _locked_state(connection, actor, escalation_id), actor)
        row = await repository.complete(connection, escalation_id, None, False, True)
        await repository.add_audit(
            connection,
            escalation_id,
            "reassigned_to_ai",
            actor.supervisor_id,
            {"owner": state.assigned_to},
        )
        reassigned, resume = reassigned_events(row, actor)
        await outbox.enqueue(connection, topics.ESCALATIONS_LIFECYCLE, [reassigned])
        await outbox.enqueue(connection, topics.CHAT_HANDOFFS, [resume])
        pushed = await _record(connection, hub, [ChangeRecord(row, "reassigned_to_ai")])
    _observe_wait(TIME_TO_RESOLVE, row, "completed_at", "reassigned_to_ai")
    return pushed
