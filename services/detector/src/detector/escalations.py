"""Turns a decision into the events the rest of the system consumes."""

from datetime import datetime

from detector.policy import Decision
from detector.state import ConversationKey, ConversationState
from escalator_schemas.config import AgentConfigVersion
from escalator_schemas.events import EscalationDetected, HandoffCommand
from escalator_schemas.ids import escalation_id_for, event_id_for


def detected_event(
    key: ConversationKey,
    state: ConversationState,
    decision: Decision,
    config: AgentConfigVersion,
    occurred_at: datetime,
) -> EscalationDetected:
    escalation_id = escalation_id_for(
        key.tenant_id,
        key.agent_id,
        key.environment,
        key.conversation_id,
        decision.trigger_message_id,
    )
    state.escalation_id = escalation_id
    topic, area = state.topic_and_area()
    # One validation for the whole event: the transcript's JSON is checked as part of it (in
    # pydantic-core), not message by message; the triggers and the customer profile are
    # validated models already and pass through as they are.
    return EscalationDetected.model_validate(
        {
            "event_id": event_id_for(escalation_id, "escalation.detected"),
            "occurred_at": occurred_at,
            "tenant_id": key.tenant_id,
            "agent_id": key.agent_id,
            "environment": key.environment,
            "escalation_id": escalation_id,
            "conversation_id": key.conversation_id,
            "trigger": decision.trigger,
            "triggers": list(decision.triggers),
            "reason": decision.reason,
            "urgency": decision.urgency,
            "severity": decision.urgency.severity,
            "category": decision.category,
            "topic": topic,
            "area": area,
            "trigger_message_id": decision.trigger_message_id,
            "customer": state.customer,
            "transcript": state.transcript,
            "turn_count": state.total_turns,
            "config_version": config.version,
        }
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
