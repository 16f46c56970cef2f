"""What the detector remembers about a conversation between two of its messages."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from detector.language.topics import topic_and_area
from escalator_schemas.chat import ChatMessage, CustomerProfile
from escalator_schemas.classification import Area, Topic
from escalator_schemas.events import EscalationDetected, EventEnvelope, HandoffCommand

TRANSCRIPT_LENGTH = 20
"""Messages kept for the escalation's transcript and for reading the customer's mood."""
TRANSCRIPT_TEXT_CHARS = 2_000
RECENT_IDS = 64
"""Message ids remembered to ignore redeliveries."""


E = TypeVar("E", bound=StrEnum)


def _member(enum: type[E], value: str | None) -> E | None:
    """The hint as a member of ``enum``; None when absent or not one of its values."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ConversationKey:
    tenant_id: str
    agent_id: str
    environment: str
    conversation_id: str

    @classmethod
    def of(cls, item: ChatMessage | EventEnvelope) -> "ConversationKey":
        """The conversation of a chat message, or the one an event is about."""
        return cls(item.tenant_id, item.agent_id, item.environment.value, item.conversation_id)


@dataclass(frozen=True, slots=True)
class Decided:
    """What one message decided: an escalation and the handoff it commands."""

    message_id: str
    detected: EscalationDetected
    handoff: HandoffCommand


@dataclass(slots=True)
class ConversationState:
    """Turn counting, pause and idle bookkeeping, and the recent transcript."""

    turns: int = 0
    """Turns (a customer message followed by an AI response) since the AI last took over."""
    total_turns: int = 0
    awaiting_ai: bool = False
    """A customer message has not been answered by the AI yet (for counting turns)."""
    clarifications: int = 0
    """Consecutive AI messages asking the customer to rephrase or clarify."""
    paused: bool = False
    """Escalated: the AI is paused and nothing escalates again until it is resumed."""
    escalation_id: UUID | None = None
    waiting_message_id: str | None = None
    """The oldest customer message nobody has replied to yet (for the idle timeout)."""
    idle_deadline: datetime | None = None
    topic_hint: str | None = None
    """The chat backend's ``metadata.topic``: it wins over what the customer's words say."""
    area_hint: str | None = None
    customer: CustomerProfile | None = None
    """The latest profile snapshot the chat backend sent."""
    recent_ids: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """The recent messages as ``TranscriptMessage`` JSON: saved after every batch but read
    only when an escalation is built (validated then, as part of the event), so they stay plain
    data until then."""
    last_events: list[Decided] = field(default_factory=list)
    """The events the last batch decided. They are published after the state is saved, so a
    replay of that batch (its publishing failed, or the process died first) finds its messages
    already seen and publishes these again instead. A resume drops them (``policy.resume``):
    the escalation they raised is over."""

    def seen(self, message_id: str) -> bool:
        return message_id in self.recent_ids

    def remember(self, message: ChatMessage) -> None:
        if message.customer is not None:
            self.customer = message.customer
        for name in ("topic", "area"):
            hint = message.metadata.get(name)
            if isinstance(hint, str) and hint:
                setattr(self, f"{name}_hint", hint)
        self.recent_ids.append(message.message_id)
        del self.recent_ids[:-RECENT_IDS]
        self.transcript.append(
            {
                "message_id": message.message_id,
                "role": message.role.value,
                "text": message.text[:TRANSCRIPT_TEXT_CHARS],
                "sent_at": message.sent_at.isoformat(),
                "ai_confidence": message.ai_confidence,
            }
        )
        del self.transcript[:-TRANSCRIPT_LENGTH]

    def customer_texts(self, limit: int = 5) -> tuple[str, ...]:
        """The last customer messages, oldest first."""
        texts = [m["text"] for m in self.transcript if m["role"] == "customer"]
        return tuple(texts[-limit:])

    def topic_and_area(self) -> tuple[Topic, Area]:
        """What the conversation is about: the chat backend's hints, else the customer's words
        (read only when asked, i.e. when an escalation is built; once for both)."""
        topic, area = _member(Topic, self.topic_hint), _member(Area, self.area_hint)
        if topic is None or area is None:
            read_topic, read_area = topic_and_area(self.customer_texts(6))
            return topic or read_topic, area or read_area
        return topic, area

    @property
    def topic(self) -> Topic:
        return self.topic_and_area()[0]

    @property
    def area(self) -> Area:
        return self.topic_and_area()[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "total_turns": self.total_turns,
            "awaiting_ai": self.awaiting_ai,
            "clarifications": self.clarifications,
            "paused": self.paused,
            "escalation_id": str(self.escalation_id) if self.escalation_id else None,
            "waiting_message_id": self.waiting_message_id,
            "idle_deadline": self.idle_deadline.isoformat() if self.idle_deadline else None,
            "topic_hint": self.topic_hint,
            "area_hint": self.area_hint,
            "customer": self.customer.model_dump(mode="json") if self.customer else None,
            "recent_ids": self.recent_ids,
            "transcript": self.transcript,
            "last_events": [
                {
                    "message_id": decided.message_id,
                    "detected": decided.detected.model_dump(mode="json"),
                    "handoff": decided.handoff.model_dump(mode="json"),
                }
                for decided in self.last_events
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ConversationState":
        return cls(
            turns=data["turns"],
            total_turns=data["total_turns"],
            awaiting_ai=data["awaiting_ai"],
            clarifications=data["clarifications"],
            paused=data["paused"],
            escalation_id=UUID(data["escalation_id"]) if data["escalation_id"] else None,
            waiting_message_id=data["waiting_message_id"],
            idle_deadline=(
                datetime.fromisoformat(data["idle_deadline"]) if data["idle_deadline"] else None
            ),
            topic_hint=data.get("topic_hint"),
            area_hint=data.get("area_hint"),
            customer=CustomerProfile.model_validate(data["customer"])
            if data.get("customer")
            else None,
            recent_ids=list(data["recent_ids"]),
            transcript=list(data["transcript"]),
            last_events=[
                Decided(
                    kept["message_id"],
                    EscalationDetected.model_validate(kept["detected"]),
                    HandoffCommand.model_validate(kept["handoff"]),
                )
                for kept in data.get("last_events", ())
            ],
        )
