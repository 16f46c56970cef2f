"""Wires ``chat.messages`` to the decision and the decision to the escalation topics."""

import structlog
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from detector.service import decide, detected_event, handoff_command
from escalator_runtime.config_store import ConfigView
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    batch_records,
    batch_subscription,
    dead_letter,
    decode_records,
    publish_events,
)
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage
from escalator_schemas.events import EscalationDetected, HandoffCommand

SERVICE = "detector"
log = structlog.get_logger(__name__)

UNKNOWN_AGENT = Counter(
    "escalator_detector_unknown_agent", "Messages for agents with no configuration", ["environment"]
)
ESCALATIONS = Counter(
    "escalator_escalations", "Escalations detected", ["trigger", "urgency", "environment"]
)


def register(broker: KafkaBroker, settings: ServiceSettings, configs: ConfigView) -> None:
    async def on_chat_messages(message: KafkaMessage) -> None:
        records = batch_records(message)
        MESSAGES_CONSUMED.labels(SERVICE, topics.CHAT_MESSAGES).inc(len(records))
        accepted, rejected = decode_records(records, ChatMessage)
        if rejected:
            await dead_letter(broker, SERVICE, rejected)
        detected: list[EscalationDetected] = []
        handoffs: list[HandoffCommand] = []
        for _record, chat_message in accepted:
            config = configs.get(
                chat_message.tenant_id, chat_message.agent_id, chat_message.environment
            )
            if config is None:
                UNKNOWN_AGENT.labels(chat_message.environment).inc()
                log.warning(
                    "no escalation config for agent",
                    agent_id=chat_message.agent_id,
                    tenant_id=chat_message.tenant_id,
                    environment=chat_message.environment,
                )
                continue
            decision = decide(chat_message, config)
            if decision is None:
                continue
            event = detected_event(chat_message, config, decision)
            detected.append(event)
            handoffs.append(handoff_command(event, config))
            ESCALATIONS.labels(event.trigger.kind, event.urgency, event.environment).inc()
            log.info(
                "escalation detected",
                escalation_id=str(event.escalation_id),
                conversation_id=event.conversation_id,
                trigger=event.trigger.kind,
                urgency=event.urgency,
            )
        await publish_events(broker, topics.ESCALATIONS_DETECTED, detected)
        await publish_events(broker, topics.CHAT_HANDOFFS, handoffs)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.CHAT_MESSAGES, **batch_subscription(settings, SERVICE))(
        on_chat_messages
    )
