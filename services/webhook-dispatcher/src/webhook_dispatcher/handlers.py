"""Wires the escalation topics to the delivery queue. A batch only becomes rows in
``webhook_deliveries`` (one per event and matching subscription) and is acknowledged once they
are committed; sending happens elsewhere (``sender``), never inside the Kafka handler."""

from collections.abc import Sequence

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from pydantic import ValidationError

from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
)
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.events import AnyEscalationEvent, EscalationFacts, escalation_event_adapter
from webhook_dispatcher import repository
from webhook_dispatcher.repository import NewDelivery
from webhook_dispatcher.service import endpoint_host, subscriptions_for

SERVICE = "webhook-dispatcher"
TOPICS = (topics.ESCALATIONS_DETECTED, topics.ESCALATIONS_ROUTED, topics.ESCALATIONS_LIFECYCLE)
log = structlog.get_logger(__name__)

DELIVERIES_CREATED = Counter(
    "escalator_webhook_deliveries_created", "Webhook deliveries queued", ["event_type"]
)


Decoded = tuple[ConsumerRecord[bytes, bytes], AnyEscalationEvent, str]


def decode_events(
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> tuple[list[Decoded], list[Rejected]]:
    """Each valid event with its record and its body as received: what integrators get, byte
    for byte (fields this service does not know yet included)."""
    accepted: list[Decoded] = []
    rejected: list[Rejected] = []
    for record in records:
        value = record.value or b""
        try:
            event = escalation_event_adapter.validate_json(value)
            accepted.append((record, event, value.decode()))
        except ValidationError as error:
            reason = "; ".join(
                f"{'.'.join(str(part) for part in detail['loc']) or '(message)'}: {detail['msg']}"
                for detail in error.errors(include_url=False, include_input=False)[:10]
            )
            rejected.append(Rejected(record, reason, "validation_error"))
        except UnicodeDecodeError as error:
            rejected.append(Rejected(record, str(error), "validation_error"))
    return accepted, rejected


async def plan_deliveries(configs: ConfigView, events: Sequence[Decoded]) -> list[NewDelivery]:
    """One delivery per event and enabled subscription of its agent (the draft's for preview
    events) whose ``event_types`` include the event's type."""
    planned: list[NewDelivery] = []
    for _record, event, body in events:
        version = event.config_version if isinstance(event, EscalationFacts) else None
        config = await configs.at_least(event.tenant_id, event.agent_id, event.environment, version)
        if config is None:
            continue
        trace = tracing.carrier_for(event.escalation_id)
        planned.extend(
            NewDelivery(
                tenant_id=event.tenant_id,
                agent_id=event.agent_id,
                environment=event.environment.value,
                webhook_id=hook.id,
                event_id=event.event_id,
                event_type=event.event_type,
                escalation_id=event.escalation_id,
                conversation_id=event.conversation_id,
                payload=body,
                target_host=endpoint_host(hook.url),
                traceparent=trace.get("traceparent"),
                tracestate=trace.get("tracestate"),
            )
            for hook in subscriptions_for(config.config, event.event_type)
        )
    return planned


def register(
    broker: KafkaBroker, settings: ServiceSettings, pool: Pool, configs: ConfigView
) -> None:
    async def on_escalation_events(records: Records) -> None:
        for record in records:
            MESSAGES_CONSUMED.labels(SERVICE, record.topic).inc()
        accepted, rejected = decode_events(records)
        with tracing.consumed(SERVICE, ((r, event.escalation_id) for r, event, _ in accepted)):
            planned = await plan_deliveries(configs, accepted)
            if planned:
                async with pool.acquire() as connection, connection.transaction():
                    created = await repository.insert_deliveries(connection, planned)
                for delivery in planned:
                    if delivery.id in created:
                        DELIVERIES_CREATED.labels(delivery.event_type).inc()
                log.info("webhook deliveries queued", planned=len(planned), created=len(created))
        await dead_letter(broker, SERVICE, rejected)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(*TOPICS, **batch_subscription(settings, SERVICE))(on_escalation_events)
