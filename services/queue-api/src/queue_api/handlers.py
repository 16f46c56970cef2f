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
from queue_api import repository, sla
from queue_api.changes import Change
from queue_api.hub import StreamHub

SERVICE = "queue-api"
log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Stored:
    created: list[asyncpg.Record] = field(default_factory=list)
    """The escalations stored (not stored before)."""
    pushed: list[Change] = field(default_factory=list)
    """Their changes on the realtime feed, for the hub (``StreamHub.announce``)."""

    def __iadd__(self, other: "Stored") -> "Stored":
        self.created += other.created
        self.pushed += other.pushed
        return self


async def store_routed(
    connection: Connection,
    events: list[EscalationRouted],
    sla_override: int | None = None,
    origin: str | None = None,
) -> Stored:
    """Insert the escalations not stored yet, with their SLA deadline, and append them to the
    realtime feed, in one statement. A replayed event changes nothing. ``origin``: the hub that
    will announce the changes (``StreamHub.origin``)."""
    rows = await repository.insert_routed(
        connection, events, sla_override, sla.DEFAULT_SLA_SECONDS, origin
    )
    pushed = [
        Change.of(
            row["tenant_id"],
            row["seq"],
            "escalation.created",
            "detected",
            row["visible_to"],
            row["escalation"],
        )
        for row in rows
    ]
    return Stored(rows, pushed)


async def _store_one_by_one(
    pool: Pool,
    accepted: list[tuple[ConsumerRecord[bytes, bytes], EscalationRouted]],
    sla_override: int | None,
    origin: str | None,
) -> tuple[Stored, list[Rejected]]:
    """After the database refused a batch: store each event on its own, so one it refuses
    goes to the dead-letter topic instead of blocking the partition."""
    stored = Stored()
    refused: list[Rejected] = []
    for record, event in accepted:
        try:
            async with pool.acquire() as connection:
                stored += await store_routed(connection, [event], sla_override, origin)
        except asyncpg.DataError as error:
            refused.append(Rejected(record, f"database refused it: {error}", "database_error"))
    return stored, refused


def register(broker: KafkaBroker, context: ServiceContext, sla_override: int | None) -> None:
    async def on_routed(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_ROUTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationRouted)
        hub: StreamHub | None = context.extras.get("stream_hub")
        origin = hub.origin if hub is not None else None
        with tracing.consumed(SERVICE, ((r, event.escalation_id) for r, event in accepted)):
            if accepted:
                try:
                    async with context.pool.acquire() as connection:
                        stored = await store_routed(
                            connection, [event for _record, event in accepted], sla_override, origin
                        )
                except asyncpg.DataError:
                    log.warning("the database refused a batch; storing one by one")
                    stored, refused = await _store_one_by_one(
                        context.pool, accepted, sla_override, origin
                    )
                    rejected += refused
                if hub is not None:
                    await hub.announce(stored.pushed)
                for row in stored.created:
                    log.info(
                        "escalation queued",
                        escalation_id=str(row["escalation_id"]),
                        conversation_id=row["conversation_id"],
                    )
        if rejected:
            await dead_letter(broker, SERVICE, rejected)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_ROUTED, **batch_subscription(context.settings, SERVICE))(
        on_routed
    )
