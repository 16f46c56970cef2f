"""Stores what the router decided: consuming ``escalations.routed`` is idempotent."""

from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from escalator_runtime import tracing
from escalator_runtime.db import Connection, Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
    decode_records,
)
from escalator_runtime.service import ServiceContext
from escalator_schemas import topics
from escalator_schemas.events import EscalationRouted
from queue_api import changes, repository, sla
from queue_api.changes import Change, ChangeRecord
from queue_api.hub import StreamHub

SERVICE = "queue-api"
log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Stored:
    created: list[ChangeRecord] = field(default_factory=list)
    pushed: list[Change] = field(default_factory=list)
    """The changes on the realtime feed, for the hub once committed."""

    def __iadd__(self, other: "Stored") -> "Stored":
        self.created += other.created
        self.pushed += other.pushed
        return self


async def store_routed(
    connection: Connection, events: list[EscalationRouted], sla_override: int | None = None
) -> Stored:
    """Insert the escalations not stored yet, with their SLA deadline, and announce them on the
    realtime feed, in the caller's transaction. A replayed event changes nothing."""
    rows = await repository.insert_routed(connection, events, sla_override, sla.DEFAULT_SLA_SECONDS)
    created = [ChangeRecord(row, "detected", type="escalation.created") for row in rows]
    pushed = await changes.record(connection, created) if created else []
    return Stored(created, pushed)


async def _store_one_by_one(
    pool: Pool,
    accepted: list[tuple[ConsumerRecord[bytes, bytes], EscalationRouted]],
    sla_override: int | None,
) -> tuple[Stored, list[Rejected]]:
    """After the database refused a batch: store each event on its own, so one it refuses
    goes to the dead-letter topic instead of blocking the partition."""
    stored = Stored()
    refused: list[Rejected] = []
    for record, event in accepted:
        try:
            async with pool.acquire() as connection, connection.transaction():
                stored += await store_routed(connection, [event], sla_override)
        except asyncpg.DataError as error:
            refused.append(Rejected(record, f"database refused it: {error}", "database_error"))
    return stored, refused


def register(broker: KafkaBroker, context: ServiceContext, sla_override: int | None) -> None:
    async def on_routed(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_ROUTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationRouted)
        hub: StreamHub | None = context.extras.get("stream_hub")
        with tracing.consumed(SERVICE, ((r, event.escalation_id) for r, event in accepted)):
            if accepted:
                try:
                    async with context.pool.acquire() as connection, connection.transaction():
                        stored = await store_routed(
                            connection, [event for _record, event in accepted], sla_override
                        )
                        if hub is not None:
                            hub.expect(stored.pushed)
                except asyncpg.DataError:
                    log.warning("the database refused a batch; storing one by one")
                    stored, refused = await _store_one_by_one(context.pool, accepted, sla_override)
                    rejected += refused
                if hub is not None:
                    await hub.announce(stored.pushed)
                for change in stored.created:
                    log.info(
                        "escalation queued",
                        escalation_id=str(change.row["escalation_id"]),
                        conversation_id=change.row["conversation_id"],
                    )
        if rejected:
            await dead_letter(broker, SERVICE, rejected)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_ROUTED, **batch_subscription(context.settings, SERVICE))(
        on_routed
    )
