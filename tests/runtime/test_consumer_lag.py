"""The consumer-lag refresher stops with its service, however its cancellation falls: on Python
3.11 ``asyncio.wait_for`` dropped a cancellation that arrived just as the broker answered
(python/cpython#86296), and a service's shutdown then waited on the refresher for ever."""

import asyncio
from types import SimpleNamespace
from typing import cast

import pytest
from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY

from escalator_runtime import metrics

PARTITION = TopicPartition("escalations.detected", 0)


class _Consumer:
    """Answers ``committed`` like aiokafka: a moment later, from the broker."""

    def __init__(self) -> None:
        self.answered = asyncio.Event()

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def highwater(self, _partition: TopicPartition) -> int:
        return 10

    async def committed(self, _partition: TopicPartition) -> int:
        await asyncio.sleep(0.01)
        self.answered.set()
        return 4


@pytest.mark.parametrize("ticks", [0, 1, 2, 3])
async def test_the_refresher_stops_when_cancelled_just_as_the_broker_answered(
    ticks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "LAG_REFRESH_SECONDS", 0.05)
    consumer = _Consumer()
    broker = cast(KafkaBroker, SimpleNamespace(subscribers=[SimpleNamespace(consumer=consumer)]))
    service = f"lag-test-{ticks}"
    refreshing = metrics.consumer_lag(broker, service)
    await refreshing.__aenter__()
    await consumer.answered.wait()
    for _ in range(ticks):
        await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    # The exit swallows the CancelledError it awaits, so a refresher that ignored the first
    # cancel is only stopped by this deadline's: the time taken tells which happened.
    async with asyncio.timeout(2.0):
        await refreshing.__aexit__(None, None, None)
    assert loop.time() - started < 1.0, "the refresher outlived its cancellation"
    labels = {"service": service, "topic": PARTITION.topic, "partition": "0"}
    assert REGISTRY.get_sample_value("escalator_consumer_lag", labels) == 6
