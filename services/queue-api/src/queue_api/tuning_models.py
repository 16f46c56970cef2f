"""What the tuning report answers with (its OpenAPI components): the seed's "Tuning after
launch" figures for one agent and period, and the conversations a supervisor may mark missed."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from escalator_schemas.chat import Environment
from escalator_schemas.classification import TriggerKind, Urgency
from escalator_schemas.events import Trigger

MAX_MISSED_NOTE_CHARS = 1000


class ReportPeriod(BaseModel):
    """The period covered: ``from`` included, ``to`` excluded; days in ``timezone``."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    timezone: str = Field(description="IANA name; days of the series are this zone's days.")


class ConfigInEffect(BaseModel):
    """The agent's configuration the advice refers to (published, or the draft for preview)."""

    version: int | None = Field(description="None when the agent was never configured.")
    escalation_threshold: float | None
    active_supervisors: int


class TriggerFigure(BaseModel):
    """One trigger kind: escalations it decided, and escalations it fired in at all."""

    kind: TriggerKind
    primary: int = Field(description="Escalations whose deciding trigger was this kind.")
    primary_share: float | None = Field(description="primary / escalations; None without any.")
    contributing: int = Field(
        description="Escalations in which this kind fired, deciding or not (once each)."
    )
    contributing_share: float | None = Field(
        description="contributing / escalations; shares add up to more than 1 when several"
        " triggers fire together."
    )


class UrgencyFigure(BaseModel):
    urgency: Urgency
    count: int
    share: float | None


class FalseEscalation(BaseModel):
    """A completed escalation its supervisor flagged: the AI could have handled it."""

    escalation_id: UUID
    conversation_id: str
    detected_at: datetime
    completed_at: datetime | None
    trigger: Trigger
    category: str
    assigned_to: str | None
    resolution_note: str | None


class FalseEscalations(BaseModel):
    """False escalations among the period's completed escalations."""

    count: int
    completed: int = Field(description="Escalations of the period completed so far.")
    rate: float | None = Field(description="count / completed; None when none completed.")
    items: list[FalseEscalation] = Field(description="Newest first, at most 100.")


class NotEscalatedConversation(BaseModel):
    """A conversation of the period that was never escalated."""

    conversation_id: str
    first_message_at: datetime
    last_message_at: datetime
    message_count: int
    peak_frustration: float | None = Field(
        description="The detector's peak frustration (0-1) over the customer's messages;"
        " None when not scored yet."
    )
    missed_marked_by: str | None = Field(description="The supervisor who marked it missed.")
    missed_marked_at: datetime | None
    missed_note: str | None
    customer_excerpt: str | None = Field(
        description="The customer's latest message (first 280 characters)."
    )


class MissedEscalation(NotEscalatedConversation):
    """A conversation that should have escalated and did not."""

    source: Literal["marked", "frustration"] = Field(
        description="'marked' by a supervisor, or 'frustration' at or above the watch level."
    )


class FrustrationScoring(BaseModel):
    """Whether the period's never-escalated conversations have the detector's frustration
    scores the missed-escalation figure relies on."""

    status: Literal["complete", "partial", "not_scored"]
    scored: int
    unscored: int
    note: str | None = Field(description="Why some are not scored, when they are not.")


class MissedEscalations(BaseModel):
    """Never-escalated conversations of the period that a supervisor marked missed, or whose
    customer's frustration reached the watch level."""

    count: int = Field(description="marked + frustration_detected.")
    marked: int = Field(description="Marked missed by a supervisor.")
    frustration_detected: int = Field(
        description="Not marked, with peak_frustration at or above watch_level."
    )
    watch_level: float
    scoring: FrustrationScoring
    items: list[MissedEscalation] = Field(description="Marked first, then most frustrated; 100.")


class SupervisorCoverage(BaseModel):
    """An active supervisor of the configuration against the period's escalations."""

    supervisor_id: str
    name: str
    categories: list[str]
    topics: list[str]
    areas: list[str]
    matching_escalations: int = Field(
        description="Escalations of the period that the supervisor's scopes cover today."
    )
    notified: int = Field(description="Escalations routed to them (they were told about).")
    owned: int = Field(description="Escalations of the period they claimed and still own.")
    gap: Literal["not_notified", "no_matching_escalations"] | None = Field(
        description="'not_notified': scopes match escalations, yet none was routed to them;"
        " 'no_matching_escalations': their scopes cover none of the period's escalations."
    )


class NotificationGaps(BaseModel):
    """Who was (not) told about the period's escalations."""

    supervisors: list[SupervisorCoverage] = Field(description="Every active supervisor.")
    not_notified: list[str] = Field(description="Ids of supervisors with gap 'not_notified'.")
    no_matching_escalations: list[str]
    unrouted_escalations: int = Field(
        description="Escalations that matched no supervisor: nobody was emailed."
    )


class DurationFigures(BaseModel):
    """Seconds from detection, over the period's escalations that got there."""

    count: int
    pending: int = Field(
        description="Escalations of the period not there (yet): for claims, also those handed"
        " back to the AI before anyone claimed them."
    )
    p50_seconds: float | None
    p90_seconds: float | None = Field(description="Linear interpolation between ranks.")
    max_seconds: float | None


class DailyFigures(BaseModel):
    """One day of the period (in the report's time zone), for the charts."""

    day: date
    conversations: int = Field(description="Conversations that started that day.")
    escalated_conversations: int = Field(description="Of those, escalated in the period.")
    escalation_rate: float | None
    escalations: int = Field(description="Escalations detected that day.")
    false_escalations: int


class Advice(BaseModel):
    """One recommendation from the seed's "Tuning after launch" table."""

    kind: Literal["escalation_rate", "false_escalations", "missed_escalations", "notification_gaps"]
    message: str
    setting: Literal["escalation_threshold", "escalation_keywords", "supervisors"]
    suggested_threshold: float | None = None
    phrases: list[str] = Field(
        default_factory=list, description="Customers' words to consider as keywords."
    )
    supervisor_ids: list[str] = Field(default_factory=list)


class TuningReport(BaseModel):
    """How an agent's escalation settings performed over a period, and what to change."""

    tenant_id: str
    agent_id: str
    environment: Environment
    period: ReportPeriod
    config: ConfigInEffect
    conversations: int = Field(
        description="Conversations active in the period (recorded ones, plus escalated ones"
        " whose messages were not recorded)."
    )
    escalated_conversations: int
    escalations: int = Field(description="Escalations detected in the period.")
    escalation_rate: float | None = Field(
        description="escalated_conversations / conversations; None when no conversation of"
        " the period was recorded (the rate would be meaningless)."
    )
    by_trigger: list[TriggerFigure]
    by_urgency: list[UrgencyFigure]
    false_escalations: FalseEscalations
    missed_escalations: MissedEscalations
    notification_gaps: NotificationGaps
    time_to_claim: DurationFigures = Field(description="To the first claim.")
    time_to_resolve: DurationFigures = Field(description="To completion.")
    daily: list[DailyFigures]
    advice: list[Advice]
    notes: list[str] = Field(description="Caveats about the figures, in words.")
    generated_at: datetime


class NotEscalatedPage(BaseModel):
    items: list[NotEscalatedConversation] = Field(
        description="Most frustrated first; not yet scored last."
    )
    total: int
    next_offset: int | None = Field(description="Pass as ?offset= for the next page.")


class MissedMarkRequest(BaseModel):
    """Why the conversation should have been escalated."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=MAX_MISSED_NOTE_CHARS, pattern=r"^[^\x00]*$")


class ConversationMark(BaseModel):
    """A conversation's missed-escalation mark."""

    conversation_id: str
    environment: Environment
    missed_marked_by: str | None
    missed_marked_at: datetime | None
    missed_note: str | None
