"""Stores what the router decided: consuming ``escalations.routed`` is idempotent."""

import structlog
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    batch_records,
    batch_subscription,
    dead_letter,
    decode_records,
)
from escalator_runtime.service import ServiceContext
from escalator_schemas import topics
from escalator_schemas.events import EscalationRouted
from queue_api import repository

SERVICE = "queue-api"
log = structlog.get_logger(__name__)


def register(broker: KafkaBroker, context: ServiceContext) -> None:
    async def on_routed(message: KafkaMessage) -> None:
        records = batch_records(message)
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_ROUTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationRouted)
        if rejected:
            await dead_letter(broker, SERVICE, rejected)
        if not accepted:
            return
        async with context.pool.acquire() as connection, connection.transaction():
            inserted = await repository.insert_routed(
                connection, [event for _record, event in accepted]
            )
        for escalation_id in inserted:
            log.info("escalation queued", escalation_id=str(escalation_id))

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_ROUTED, **batch_subscription(context.settings, SERVICE))(
        on_routed
    )
