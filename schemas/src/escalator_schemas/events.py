"""Events on the escalation topics (CONTRACT.md §1, §3).

Every event shares one frozen envelope. Within ``schema_version`` 1 fields are only ever added,
and only as optional ones; consumers ignore fields they do not know.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

from escalator_schemas.chat import CustomerProfile, Environment, Id64, Id128, Role
from escalator_schemas.classification import Area, Severity, Topic, TriggerKind, Urgency

SCHEMA_VERSION = 1

CategoryName = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=r"^[a-z_]+(:[a-z0-9-]+)?$")
]


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventEnvelope(BaseModel):
    """Fields every Escalator event carries, whatever its type."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID
    event_type: str
    schema_version: int = SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    tenant_id: Id64
    agent_id: Id64
    environment: Environment
    escalation_id: UUID
    conversation_id: Id128


class Trigger(BaseModel):
    """One escalation signal: what fired, in words, and how strongly (0.0-1.0)."""

    model_config = ConfigDict(frozen=True)

    kind: TriggerKind
    detail: str = Field(max_length=500)
    score: float = Field(ge=0.0, le=1.0)


class TranscriptMessage(BaseModel):
    """One message of the conversation as it stood when the escalation was decided."""

    model_config = ConfigDict(frozen=True)

    message_id: Id128
    role: Role
    text: str
    sent_at: AwareDatetime
    ai_confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class EscalationFacts(EventEnvelope):
    """What the detector decided, and why. Carried by ``detected`` and ``routed`` alike."""

    trigger: Trigger
    triggers: list[Trigger] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=1000)
    urgency: Urgency
    severity: Severity
    category: CategoryName
    topic: Topic
    area: Area
    trigger_message_id: Id128
    customer: CustomerProfile | None = None
    transcript: list[TranscriptMessage] = Field(default_factory=list)
    turn_count: int = Field(ge=0)
    config_version: int | None = Field(
        default=None, description="Version of the agent's configuration the decision used."
    )


class EscalationDetected(EscalationFacts):
    """A conversation needs a human. Published by detector on ``escalations.detected``."""

    event_type: Literal["escalation.detected"] = "escalation.detected"


class SupervisorMatch(BaseModel):
    """A supervisor who may see, be told about and claim an escalation, and why."""

    model_config = ConfigDict(frozen=True)

    supervisor_id: Id64
    name: str
    email: str
    reasons: list[str] = Field(
        description="Why the supervisor matched, one phrase per scope, e.g. 'topic refund'."
    )


class EscalationRouted(EscalationFacts):
    """An escalation with the supervisors it goes to. Published by router."""

    event_type: Literal["escalation.routed"] = "escalation.routed"
    matched_supervisors: list[SupervisorMatch] = Field(default_factory=list)
    suggested_assignee: Id64 | None = Field(
        default=None, description="The least loaded matching supervisor with spare capacity."
    )
    unrouted: bool = Field(
        default=False, description="True when no supervisor matched: visible to admins only."
    )


class EscalationClaimed(EventEnvelope):
    """A supervisor took ownership; the escalation is in progress."""

    event_type: Literal["escalation.claimed"] = "escalation.claimed"
    supervisor_id: Id64


class EscalationReleased(EventEnvelope):
    """The escalation went back to pending, for another supervisor to take over."""

    event_type: Literal["escalation.released"] = "escalation.released"
    supervisor_id: Id64 = Field(description="Who owned it.")
    released_by: Id64


class EscalationCompleted(EventEnvelope):
    """A supervisor resolved the escalation."""

    event_type: Literal["escalation.completed"] = "escalation.completed"
    supervisor_id: Id64
    resolution_note: str = Field(min_length=1, max_length=5000)
    ai_could_have_handled: bool = Field(
        default=False, description="The supervisor marked it a false escalation."
    )


class EscalationReassignedToAI(EventEnvelope):
    """The AI may answer the conversation again."""

    event_type: Literal["escalation.reassigned_to_ai"] = "escalation.reassigned_to_ai"
    reassigned_by: Id64


class EscalationSlaBreached(EventEnvelope):
    """Nobody claimed the escalation in time; it is offered more widely."""

    event_type: Literal["escalation.sla_breached"] = "escalation.sla_breached"
    pending_since: AwareDatetime
    unclaimed_seconds: int = Field(ge=0)
    offered_to: list[Id64] = Field(default_factory=list)


LifecycleEvent = Annotated[
    EscalationClaimed
    | EscalationReleased
    | EscalationCompleted
    | EscalationReassignedToAI
    | EscalationSlaBreached,
    Field(discriminator="event_type"),
]

AnyEscalationEvent = Annotated[
    EscalationDetected
    | EscalationRouted
    | EscalationClaimed
    | EscalationReleased
    | EscalationCompleted
    | EscalationReassignedToAI
    | EscalationSlaBreached,
    Field(discriminator="event_type"),
]

lifecycle_event_adapter: TypeAdapter[LifecycleEvent] = TypeAdapter(LifecycleEvent)
escalation_event_adapter: TypeAdapter[AnyEscalationEvent] = TypeAdapter(AnyEscalationEvent)

ESCALATION_EVENT_TYPES: tuple[str, ...] = (
    "escalation.detected",
    "escalation.routed",
    "escalation.claimed",
    "escalation.released",
    "escalation.completed",
    "escalation.reassigned_to_ai",
    "escalation.sla_breached",
)


class HandoffCommand(EventEnvelope):
    """Tells the chat backend to pause the AI and hand over to a human, or to resume the AI.

    ``message`` is the agent's configured escalation response, sent to the customer on handoff.
    """

    event_type: Literal["chat.handoff"] = "chat.handoff"
    kind: Literal["handoff", "resume_ai"]
    message: str | None = Field(default=None, max_length=4000)


def envelope_fields(event: EventEnvelope) -> dict[str, Any]:
    """The envelope of ``event`` as keyword arguments for a follow-up event."""
    return {
        "tenant_id": event.tenant_id,
        "agent_id": event.agent_id,
        "environment": event.environment,
        "escalation_id": event.escalation_id,
        "conversation_id": event.conversation_id,
    }
