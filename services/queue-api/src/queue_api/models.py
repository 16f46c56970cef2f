"""What the queue API answers with (its OpenAPI components)."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from escalator_schemas.chat import CustomerProfile, Environment
from escalator_schemas.classification import Area, Severity, Topic, Urgency
from escalator_schemas.events import SupervisorMatch, TranscriptMessage, Trigger


class Status(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class EscalationSummary(BaseModel):
    """One row of the queue."""

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
    detected_at: datetime
    updated_at: datetime


class AuditEntry(BaseModel):
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
