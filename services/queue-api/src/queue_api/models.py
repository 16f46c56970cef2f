"""What the queue API answers with and accepts (its OpenAPI components)."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from escalator_schemas.chat import CustomerProfile, Environment
from escalator_schemas.classification import Area, Severity, Topic, Urgency
from escalator_schemas.events import SupervisorMatch, TranscriptMessage, Trigger

MAX_RESOLUTION_NOTE_CHARS = 5000


class Status(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class EscalationSummary(BaseModel):
    """One row of the queue (also what the realtime stream pushes)."""

    escalation_id: UUID
    tenant_id: str
    agent_id: str
    environment: Environment
    conversation_id: str
    status: Status
    urgency: Urgency
    severity: Severity
    category: str
    topic: Topic
    area: Area
    reason: str
    trigger: Trigger
    customer: CustomerProfile | None
    assigned_to: str | None
    suggested_assignee: str | None
    unrouted: bool
    reassigned_to_ai: bool = Field(
        default=False, description="Completed by handing the conversation back to the AI."
    )
    sla_deadline: datetime | None = Field(
        default=None, description="When the escalation breaches its SLA if nobody claims it."
    )
    sla_breached_at: datetime | None = Field(
        default=None, description="When nobody had claimed it in time (it was offered wider)."
    )
    detected_at: datetime
    updated_at: datetime


class AuditEntry(BaseModel):
    """One entry of the timeline: detected, routed, claimed, released, completed,
    reassigned_to_ai, sla_breached or summary_generated; who (``actor``) and when."""

    action: str
    actor: str | None
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class EscalationDetail(EscalationSummary):
    """An escalation with everything a supervisor needs to act on it."""

    triggers: list[Trigger]
    transcript: list[TranscriptMessage]
    turn_count: int
    trigger_message_id: str
    matched_supervisors: list[SupervisorMatch]
    resolution_note: str | None
    ai_could_have_handled: bool
    claimed_at: datetime | None
    completed_at: datetime | None
    audit: list[AuditEntry]


class EscalationPage(BaseModel):
    items: list[EscalationSummary]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next (older) page; null on the last page."
    )


class CompleteRequest(BaseModel):
    """How the supervisor resolved the escalation."""

    model_config = ConfigDict(extra="forbid")

    resolution_note: str = Field(
        min_length=1,
        max_length=MAX_RESOLUTION_NOTE_CHARS,
        # Not blank, and no NUL (PostgreSQL text cannot hold it).
        pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",
        description="What happened, what was done, whether follow-up is needed.",
    )
    ai_could_have_handled: bool = Field(
        default=False, description="A false escalation: the AI could have answered on its own."
    )

    @field_validator("resolution_note")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()


class Sentiment(BaseModel):
    """The customer's mood over the conversation, from -1.0 (angry) to 1.0 (happy)."""

    first: float = Field(ge=-1.0, le=1.0)
    last: float = Field(ge=-1.0, le=1.0)
    overall: Literal["negative", "neutral", "positive"]
    trend: Literal["worsening", "steady", "improving"]


class EscalationSummaryText(BaseModel):
    """A concise recap of an escalation for the supervisor who picks it up."""

    escalation_id: UUID
    language: str = Field(description="The language the summary is written in (BCP 47).")
    requested_language: str = Field(description="The agent's configured summary_language.")
    method: Literal["offline", "llm"] = Field(
        description="'llm' when the external model answered, else the built-in extractive one."
    )
    text: str
    customer_request: str | None = Field(description="What the customer wants, in their words.")
    ai_attempts: list[str] = Field(description="What the AI already tried, one item per reply.")
    sentiment: Sentiment
    generated_at: datetime


class FieldError(BaseModel):
    loc: list[str]
    field: str
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 ``application/problem+json``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="On 422: every invalid field."
    )


class StreamPush(BaseModel):
    """One WebSocket message of ``/api/v1/stream`` (documented here; not an HTTP response).

    ``type`` is ``escalation.created`` or ``escalation.updated`` with the escalation's new state,
    ``heartbeat`` every few seconds, ``ready`` once what was missed has been replayed, or
    ``reset`` when ``since`` cannot be replayed (reload the list, then continue). ``seq`` is the
    tenant's change number: reconnect with ``?since=`` the last one received.
    """

    seq: int
    type: Literal["escalation.created", "escalation.updated", "heartbeat", "ready", "reset"]
    action: str | None = None
    escalation: EscalationSummary | None = None
