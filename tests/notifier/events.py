"""Routed escalations and SLA breaches as the router and queue-api publish them."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from escalator_schemas.chat import CustomerProfile, Environment
from escalator_schemas.classification import Area, Topic, TriggerKind, Urgency
from escalator_schemas.events import (
    EscalationRouted,
    EscalationSlaBreached,
    SupervisorMatch,
    Trigger,
    utc_now,
)
from escalator_schemas.ids import escalation_id_for, event_id_for


def supervisor(supervisor_id: str, name: str, email: str) -> SupervisorMatch:
    return SupervisorMatch(supervisor_id=supervisor_id, name=name, email=email, reasons=["any"])


def routed_event(
    tenant_id: str,
    conversation_id: str,
    supervisors: list[SupervisorMatch],
    *,
    agent_id: str | None = None,
    customer_name: str | None = "Dana Reyes",
    reason: str = 'The customer wrote "refund".',
    urgency: Urgency = Urgency.HIGH,
    environment: Environment = Environment.PUBLISHED,
    message_id: str = "m-1",
    **overrides: Any,
) -> EscalationRouted:
    agent_id = agent_id or f"agent-{tenant_id}"
    escalation_id = escalation_id_for(
        tenant_id, agent_id, environment.value, conversation_id, message_id
    )
    trigger = Trigger(kind=TriggerKind.KEYWORD, detail="refund", score=1.0)
    values: dict[str, Any] = {
        "event_id": event_id_for(escalation_id, "escalation.routed"),
        "tenant_id": tenant_id,
        "agent_id": agent_id,
        "environment": environment,
        "escalation_id": escalation_id,
        "conversation_id": conversation_id,
        "trigger": trigger,
        "triggers": [trigger],
        "reason": reason,
        "urgency": urgency,
        "severity": urgency.severity,
        "category": "refund",
        "topic": Topic.REFUND,
        "area": Area.ORDER,
        "trigger_message_id": message_id,
        "customer": CustomerProfile(id="cus-1", name=customer_name) if customer_name else None,
        "turn_count": 3,
        "matched_supervisors": supervisors,
        "unrouted": not supervisors,
        "suggested_assignee": supervisors[0].supervisor_id if supervisors else None,
    }
    return EscalationRouted(**(values | overrides))


def sla_breached(
    routed: EscalationRouted, offered_to: list[str], unclaimed_seconds: int = 360
) -> EscalationSlaBreached:
    return EscalationSlaBreached(
        event_id=uuid4(),
        tenant_id=routed.tenant_id,
        agent_id=routed.agent_id,
        environment=routed.environment,
        escalation_id=routed.escalation_id,
        conversation_id=routed.conversation_id,
        pending_since=utc_now() - timedelta(seconds=unclaimed_seconds),
        unclaimed_seconds=unclaimed_seconds,
        offered_to=offered_to,
    )
