"""The escalation decision for one chat message, as plain functions."""

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from detector.keywords import matcher_for
from escalator_schemas.chat import ChatMessage, Role
from escalator_schemas.classification import Area, Category, Topic, TriggerKind, Urgency
from escalator_schemas.config import AgentConfigVersion
from escalator_schemas.events import (
    EscalationDetected,
    HandoffCommand,
    TranscriptMessage,
    Trigger,
)
from escalator_schemas.ids import escalation_id_for, event_id_for

# What a keyword says about the kind of escalation; the first match in this table wins.
_KEYWORD_CATEGORY: tuple[tuple[tuple[str, ...], Category, Urgency], ...] = (
    (("lawyer", "legal", "sue", "attorney", "court"), Category.LEGAL, Urgency.CRITICAL),
    (("cancel",), Category.CANCELLATION, Urgency.HIGH),
    (("refund", "money back"), Category.REFUND, Urgency.HIGH),
    (("complaint", "report", "bbb"), Category.COMPLAINT, Urgency.HIGH),
)


@dataclass(frozen=True, slots=True)
class Decision:
    trigger: Trigger
    category: str
    urgency: Urgency
    reason: str


def _keyword_category(keyword: str) -> tuple[str, Urgency]:
    folded = keyword.casefold()
    for needles, category, urgency in _KEYWORD_CATEGORY:
        if any(needle in folded for needle in needles):
            return category, urgency
    return Category.HUMAN_REQUEST, Urgency.HIGH


def decide(message: ChatMessage, config: AgentConfigVersion) -> Decision | None:
    """Whether ``message`` escalates its conversation under ``config``, and why."""
    if not config.config.enabled or message.role is not Role.CUSTOMER:
        return None
    found = matcher_for(tuple(config.config.escalation_keywords)).find(message.text)
    if not found:
        return None
    category, urgency = _keyword_category(found[0])
    quoted = ", ".join(f'"{keyword}"' for keyword in found)
    return Decision(
        trigger=Trigger(kind=TriggerKind.KEYWORD, detail=f"keyword {quoted}", score=1.0),
        category=category,
        urgency=urgency,
        reason=f"The customer wrote {quoted}, an escalation keyword.",
    )


def _hint(message: ChatMessage, name: str) -> str | None:
    value = message.metadata.get(name)
    return value if isinstance(value, str) else None


E = TypeVar("E", bound=StrEnum)


def _member(enum: type[E], value: str | None, default: E) -> E:
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        return default


def detected_event(
    message: ChatMessage, config: AgentConfigVersion, decision: Decision
) -> EscalationDetected:
    escalation_id = escalation_id_for(
        message.tenant_id,
        message.agent_id,
        message.environment,
        message.conversation_id,
        message.message_id,
    )
    return EscalationDetected(
        event_id=event_id_for(escalation_id, "escalation.detected"),
        occurred_at=message.sent_at,
        tenant_id=message.tenant_id,
        agent_id=message.agent_id,
        environment=message.environment,
        escalation_id=escalation_id,
        conversation_id=message.conversation_id,
        trigger=decision.trigger,
        triggers=[decision.trigger],
        reason=decision.reason,
        urgency=decision.urgency,
        severity=decision.urgency.severity,
        category=decision.category,
        topic=_member(Topic, _hint(message, "topic"), Topic.OTHER),
        area=_member(Area, _hint(message, "area"), Area.OTHER),
        trigger_message_id=message.message_id,
        customer=message.customer,
        transcript=[
            TranscriptMessage(
                message_id=message.message_id,
                role=message.role,
                text=message.text,
                sent_at=message.sent_at,
                ai_confidence=message.ai_confidence,
            )
        ],
        turn_count=0,
        config_version=config.version,
    )


def handoff_command(detected: EscalationDetected, config: AgentConfigVersion) -> HandoffCommand:
    """Pause the AI and tell the customer a human is taking over."""
    return HandoffCommand(
        event_id=event_id_for(detected.escalation_id, "chat.handoff", "handoff"),
        occurred_at=detected.occurred_at,
        tenant_id=detected.tenant_id,
        agent_id=detected.agent_id,
        environment=detected.environment,
        escalation_id=detected.escalation_id,
        conversation_id=detected.conversation_id,
        kind="handoff",
        message=config.config.escalation_response,
    )
