"""Transactional outbox: events are written in the transaction of the state change they announce
and relayed to Kafka afterwards, so neither is lost when the process dies between the two.

The relay wakes on ``NOTIFY`` (and polls, for a missed one), takes the oldest rows with
``FOR UPDATE SKIP LOCKED``, publishes them in order, waits for the broker's acknowledgements and
only then deletes them. A crash before the delete re-sends the same events, with the same
``event_id``: delivery is at least once and consumers deduplicate on the id. One relay at a time
holds the relay lock, so events of one conversation keep their order across replicas.
"""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from escalator_runtime import tracing
from escalator_runtime.db import Connection, Pool, connect
from escalator_runtime.kafka import JSON_HEADERS, trace_headers
from escalator_runtime.periodic import cancel_and_wait
from escalator_schemas.events import EventEnvelope

log = structlog.get_logger(__name__)

CHANNEL = "escalator_outbox"
_RELAY_LOCK = 7_357_735_002

OUTBOX_RELAYED = Counter("escalator_outbox_relayed", "Outbox events published", ["topic"])
OUTBOX_FAILURES = Counter("escalator_outbox_failures", "Outbox relay attempts that failed")


async def enqueue(connection: Connection, topic: str, events: Sequence[EventEnvelope]) -> None:
    """Write ``events`` for ``topic``, keyed by conversation, in the caller's transaction."""
    current = trace_headers()
    await connection.executemany(
        "INSERT INTO escalation_outbox (event_id, topic, key, event_type, payload, headers)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
        [
            (
                event.event_id,
                topic,
                event.conversation_id,
                event.event_type,
                event.model_dump(mode="json"),
                tracing.carrier_for(event.escalation_id, current),
            )
            for event in events
        ],
    )
    await connection.execute("SELECT pg_notify($1, '')", CHANNEL)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    event_id: UUID
    topic: str
    key: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]


Publisher = Callable[[Sequence[OutboxRecord]], Awaitable[None]]


def kafka_publisher(broker: KafkaBroker) -> Publisher:
    """Publishes records in order and returns once the broker acknowledged every one."""

    async def publish(records: Sequence[OutboxRecord]) -> None:
        futures = [
            await broker.publish(
                json.dumps(record.payload).encode(),
                record.topic,
                key=record.key.encode(),
                headers=JSON_HEADERS | record.headers | {"event-type": record.event_type},
                no_confirm=True,
            )
            for record in records
        ]
        await asyncio.gather(*futures)

    return publish


class OutboxRelay:
    def __init__(
        self,
        pool: Pool,
        dsn: str,
        publish: Publisher,
        poll_seconds: float = 2.0,
        batch_size: int = 200,
        max_backoff_seconds: float = 30.0,
        publish_timeout_seconds: float = 30.0,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._publish = publish
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._max_backoff = max_backoff_seconds
        self._publish_timeout = publish_timeout_seconds
        self._wake = asyncio.Event()
        self._listener: Connection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._close_listener()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many were sent. Raises when publishing failed (the
        rows stay, with the attempt recorded)."""
        async with self._pool.acquire() as connection:
            failure: Exception | None = None
            async with connection.transaction():
                locked = await connection.fetchval(
                    "SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK
                )
                if not locked:
                    return 0
                rows = await connection.fetch(
                    "SELECT id, event_id, topic, key, event_type, payload, headers"
                    " FROM escalation_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                    self._batch_size,
                )
                if not rows:
                    return 0
                records = [OutboxRecord(**dict(row)) for row in rows]
                ids = [record.id for record in records]
                try:
                    async with asyncio.timeout(self._publish_timeout):
                        await self._publish(records)
                except Exception as error:
                    failure = error
                    await connection.execute(
                        "UPDATE escalation_outbox SET attempts = attempts + 1,"
                        " last_attempt_at = now(), last_error = $2 WHERE id = ANY($1::bigint[])",
                        ids,
                        f"{type(error).__name__}: {error}"[:2000],
                    )
                else:
                    await connection.execute(
                        "DELETE FROM escalation_outbox WHERE id = ANY($1::bigint[])", ids
                    )
            if failure is not None:
                OUTBOX_FAILURES.inc()
                raise failure
        for record in records:
            OUTBOX_RELAYED.labels(record.topic).inc()
        return len(records)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                if self._listener is None or self._listener.is_closed():
                    await self._close_listener()
                    self._listener = await connect(self._dsn)
                    await self._listener.add_listener(CHANNEL, self._on_notify)
                self._wake.clear()
                sent = await self.relay_once()
                backoff = 0.0
                if sent >= self._batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                backoff = min(max(backoff * 2, 0.5), self._max_backoff)
                log.exception("outbox relay failed; retrying", retry_in=backoff)
                await asyncio.sleep(backoff)
