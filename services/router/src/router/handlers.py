"""Wires ``escalations.detected`` to the routing decision and ``escalations.routed``."""

import structlog
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

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
from escalator_schemas.events import EscalationDetected, EscalationRouted
from router.service import matching_supervisors, routed_event

SERVICE = "router"
log = structlog.get_logger(__name__)


def register(broker: KafkaBroker, settings: ServiceSettings, configs: ConfigView) -> None:
    async def on_detected(message: KafkaMessage) -> None:
        records = batch_records(message)
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_DETECTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationDetected)
        if rejected:
            await dead_letter(broker, SERVICE, rejected)
        routed: list[EscalationRouted] = []
        for _record, detected in accepted:
            config = configs.get(detected.tenant_id, detected.agent_id, detected.environment)
            supervisors = config.config.supervisors if config else []
            event = routed_event(detected, matching_supervisors(supervisors, detected))
            routed.append(event)
            log.info(
                "escalation routed",
                escalation_id=str(event.escalation_id),
                conversation_id=event.conversation_id,
                supervisors=[m.supervisor_id for m in event.matched_supervisors],
            )
        await publish_events(broker, topics.ESCALATIONS_ROUTED, routed)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_DETECTED, **batch_subscription(settings, SERVICE))(
        on_detected
    )
