"""Prometheus series every service shares (``/metrics``), named ``escalator_*``.

Per consumed batch, measured by a broker middleware so no handler has to remember it: how long
the handler took and how old the batch's oldest record was when it was done (the delay a
message sees through this service, broker included). Consumer lag per partition, refreshed in
the background. Deliveries (emails, webhook requests) by outcome.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from prometheus_client import Counter, Gauge, Histogram

from escalator_runtime.periodic import Periodic

log = structlog.get_logger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)

BATCH_SECONDS = Histogram(
    "escalator_batch_processing_seconds",
    "Time a consumer's handler took for one batch of records",
    ["service", "topic"],
    buckets=_LATENCY_BUCKETS,
)
RECORD_LATENCY = Histogram(
    "escalator_record_latency_seconds",
    "From a record's timestamp to the end of its handling; the oldest record of each batch",
    ["service", "topic"],
    buckets=_LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "escalator_consumer_lag",
    "Records in a partition after the consumer group's committed offset",
    ["service", "topic", "partition"],
)
DELIVERIES = Counter(
    "escalator_deliveries",
    "Delivery attempts by channel (email, webhook) and outcome (delivered, retry, failed)",
    ["service", "channel", "outcome"],
)

LAG_REFRESH_SECONDS = 10.0


class _ConsumeMetrics(BaseMiddleware[Any, Any]):
    def __init__(self, msg: Any, /, *, context: ContextRepo, service: str) -> None:
        super().__init__(msg, context=context)
        self._service = service

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        started = time.perf_counter()
        result = await call_next(msg)
        elapsed = time.perf_counter() - started
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        oldest: dict[str, int] = {}
        for record in records:
            if isinstance(record, ConsumerRecord):
                # One pass, no per-record observation: this runs on the detector's hot path.
                seen = oldest.get(record.topic)
                if seen is None or record.timestamp < seen:
                    oldest[record.topic] = record.timestamp
        now_ms = time.time() * 1000
        for topic, timestamp in oldest.items():
            BATCH_SECONDS.labels(self._service, topic).observe(elapsed)
            RECORD_LATENCY.labels(self._service, topic).observe(max(now_ms - timestamp, 0) / 1000)
        return result


class consume_metrics:  # noqa: N801 - a middleware factory, named like the middleware it makes
    """What ``KafkaBroker(middlewares=[...])`` takes: builds the middleware per message."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _ConsumeMetrics:
        return _ConsumeMetrics(msg, context=context, service=self._service)


async def refresh_consumer_lag(
    broker: KafkaBroker, service: str, known: set[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Set the lag of every partition the service's consumers own; forget the partitions
    they gave up (another replica reports those)."""
    current: set[tuple[str, str, str]] = set()
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None:
            continue
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue  # nothing fetched yet
            # During a rebalance, or with the broker away, the next round tells. Not
            # asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as the
            # answer does (python/cpython#86296), and this loop then outlives the service.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    committed = await consumer.committed(partition)
                if committed is not None:
                    labels = (service, partition.topic, str(partition.partition))
                    CONSUMER_LAG.labels(*labels).set(max(highwater - committed, 0))
                    current.add(labels)
    for labels in known - current:
        with contextlib.suppress(KeyError):
            CONSUMER_LAG.remove(*labels)
    return current


def consumer_lag(broker: KafkaBroker, service: str) -> Periodic:
    """Refreshes ``escalator_consumer_lag`` every ``LAG_REFRESH_SECONDS`` while the service
    runs (``async with``)."""
    known: set[tuple[str, str, str]] = set()

    async def refresh() -> None:
        nonlocal known
        try:
            known = await refresh_consumer_lag(broker, service, known)
        except Exception:
            log.warning("consumer lag not refreshed", exc_info=True)

    return Periodic("consumer-lag", refresh, LAG_REFRESH_SECONDS)
