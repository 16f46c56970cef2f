"""A known week of one agent for the tuning report's tests: escalations stored the way the
``escalations.routed`` handler stores them, moved through the real lifecycle API, then pinned
to known moments; and conversations with their messages as queue-api records them."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from escalator_schemas.chat import Environment
from escalator_schemas.classification import Area, Topic, TriggerKind, Urgency
from escalator_schemas.events import EscalationRouted, Trigger
from tests.queue_api.support import pool_of, routed, store

START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday; the period is 3 days
END = START + timedelta(days=3)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` 0 is START's day."""
    return START + timedelta(days=day, hours=hour, minutes=minute)


def trigger(kind: TriggerKind, detail: str = "") -> Trigger:
    return Trigger(kind=kind, detail=detail or kind.value, score=0.9)


@dataclass
class Escalation:
    """One escalation of the known set and what happens to it (seconds after detection)."""

    detected_at: datetime
    kinds: tuple[TriggerKind, ...]
    urgency: Urgency
    category: str
    topic: Topic = Topic.OTHER
    area: Area = Area.OTHER
    supervisors: tuple[str, ...] = ("alice",)
    claims: tuple[tuple[str, int], ...] = ()  # (who, seconds); a release between two claims
    completed_after: int | None = None
    ai_could_have_handled: bool = False
    agent: str | None = None
    environment: Environment = Environment.PUBLISHED
    conversation: str = field(default_factory=lambda: f"c-{uuid.uuid4().hex[:10]}")

    def event(self, tenant: str, agent: str) -> EscalationRouted:
        base = routed(
            tenant,
            agent=self.agent or agent,
            conversation=self.conversation,
            supervisors=self.supervisors,
            environment=self.environment,
            occurred_at=self.detected_at,
        )
        triggers = [trigger(kind) for kind in self.kinds]
        return base.model_copy(
            update={
                "trigger": triggers[0],
                "triggers": triggers,
                "urgency": self.urgency,
                "severity": self.urgency.severity,
                "category": self.category,
                "topic": self.topic,
                "area": self.area,
            }
        )


async def play(
    app: FastAPI,
    clients: dict[str, httpx.AsyncClient],
    tenant: str,
    agent: str,
    escalations: list[Escalation],
) -> list[EscalationRouted]:
    """Store, claim, release and complete through the API, then pin every moment."""
    events = [escalation.event(tenant, agent) for escalation in escalations]
    await store(app, events)
    for escalation, event in zip(escalations, events, strict=True):
        path = f"/api/v1/escalations/{event.escalation_id}"
        for position, (who, _seconds) in enumerate(escalation.claims):
            if position:
                released = await clients[escalation.claims[position - 1][0]].post(f"{path}/release")
                assert released.status_code == 200, released.text
            claimed = await clients[who].post(f"{path}/claim")
            assert claimed.status_code == 200, claimed.text
        if escalation.completed_after is not None:
            owner = escalation.claims[-1][0]
            done = await clients[owner].post(
                f"{path}/complete",
                json={
                    "resolution_note": "Answered the customer.",
                    "ai_could_have_handled": escalation.ai_could_have_handled,
                },
            )
            assert done.status_code == 200, done.text
        await _pin(app, event, escalation)
    return events


async def _pin(app: FastAPI, event: EscalationRouted, escalation: Escalation) -> None:
    detected = escalation.detected_at
    claims = [detected + timedelta(seconds=seconds) for _who, seconds in escalation.claims]
    async with pool_of(app).acquire() as connection, connection.transaction():
        audit = await connection.fetch(
            "SELECT id FROM escalation_audit WHERE escalation_id = $1 AND action = 'claimed'"
            " ORDER BY id",
            event.escalation_id,
        )
        assert len(audit) == len(claims)
        for row, moment in zip(audit, claims, strict=True):
            await connection.execute(
                "UPDATE escalation_audit SET at = $2 WHERE id = $1", row["id"], moment
            )
        completed = (
            detected + timedelta(seconds=escalation.completed_after)
            if escalation.completed_after is not None
            else None
        )
        await connection.execute(
            "UPDATE escalations SET claimed_at = $2, completed_at = $3 WHERE escalation_id = $1",
            event.escalation_id,
            claims[-1] if claims else None,
            completed,
        )


@dataclass
class Conversation:
    """A recorded conversation: its customer's messages at ``first``, ..., ``last``."""

    conversation: str
    first: datetime
    last: datetime
    peak_frustration: float | None = None
    customer_says: str = "Where is my parcel?"
    environment: Environment = Environment.PUBLISHED


async def record(app: FastAPI, tenant: str, agent: str, conversations: list[Conversation]) -> None:
    """Conversations and their messages, as queue-api's chat.messages consumer keeps them."""
    async with pool_of(app).acquire() as connection, connection.transaction():
        for c in conversations:
            await connection.execute(
                "INSERT INTO conversations (tenant_id, agent_id, environment, conversation_id,"
                " first_message_at, last_message_at, message_count, peak_frustration,"
                " frustration_scored_through) VALUES ($1, $2, $3, $4, $5, $6, 2, $7, $8)",
                tenant,
                agent,
                c.environment.value,
                c.conversation,
                c.first,
                c.last,
                c.peak_frustration,
                c.last if c.peak_frustration is not None else None,  # scored up to its end
            )
            for position, (moment, text) in enumerate(
                ((c.first, "Hello, I have a question."), (c.last, c.customer_says))
            ):
                message: dict[str, Any] = {
                    "message_id": f"{c.conversation}-{position}",
                    "conversation_id": c.conversation,
                    "tenant_id": tenant,
                    "agent_id": agent,
                    "environment": c.environment.value,
                    "role": "customer",
                    "text": text,
                    "sent_at": moment.isoformat(),
                }
                await connection.execute(
                    "INSERT INTO conversation_messages (tenant_id, agent_id, environment,"
                    " conversation_id, message_id, sent_at, message)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    tenant,
                    agent,
                    c.environment.value,
                    c.conversation,
                    message["message_id"],
                    moment,
                    message,
                )
