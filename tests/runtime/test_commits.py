"""Offsets committed in the background (escalator_runtime.commits): never ahead of the handling,
never moved back across a rebalance, kept through a broker hiccup, and on a real broker a
trickle of batches costs a few commits, not one per batch."""

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError

from escalator_runtime import commits
from escalator_runtime.kafka import Records, batch_subscription, make_broker
from escalator_runtime.settings import ServiceSettings
from tests.stack import eventually, new_topic, producer

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class _Consumer:
    """Like aiokafka's consumer as far as committing goes."""

    def __init__(self) -> None:
        self._coordinator = type("Coordinator", (), {"generation": 1})()
        self.assigned = {A, B}
        self.committed: list[dict[TopicPartition, int]] = []
        self.failures: list[BaseException] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.committed.append(dict(offsets))


def _records(partition: TopicPartition, *offsets: int) -> Iterator[ConsumerRecord[Any, Any]]:
    for offset in offsets:
        yield ConsumerRecord(
            partition.topic, partition.partition, offset, 0, 0, None, b"", None, 0, 0, []
        )


def soon(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """``check`` as a probe for ``eventually``."""

    async def probe() -> bool:
        return check()

    return probe


def _offsets(consumer: _Consumer) -> commits.Offsets:
    return commits.Offsets(consumer, 0.01)


async def test_handled_batches_are_committed_together_after_the_interval() -> None:
    consumer = _Consumer()
    offsets = _offsets(consumer)
    offsets.handled(_records(A, 0, 1, 2))
    offsets.handled(_records(B, 7))
    offsets.handled(_records(A, 3))
    assert consumer.committed == []  # nothing in the handler's way
    await eventually(soon(lambda: bool(consumer.committed)), within=5)
    assert consumer.committed == [{A: 4, B: 8}]


async def test_offsets_noted_before_a_rebalance_are_not_committed() -> None:
    consumer = _Consumer()
    offsets = _offsets(consumer)
    offsets.handled(_records(A, 5))
    offsets.handled(_records(B, 9))
    consumer._coordinator.generation = 2  # a rebalance: the partitions may have moved on
    consumer.assigned = {A}
    offsets.handled(_records(A, 2))  # re-read from its last commit in the new generation
    await eventually(soon(lambda: bool(consumer.committed)), within=5)
    assert consumer.committed == [{A: 3}]


async def test_a_broker_that_cannot_take_a_commit_gets_it_again() -> None:
    consumer = _Consumer()
    consumer.failures.append(KafkaConnectionError())
    offsets = _offsets(consumer)
    offsets.handled(_records(A, 0, 1))
    await eventually(soon(lambda: bool(consumer.committed)), within=5)
    assert consumer.committed == [{A: 2}]


async def test_a_held_batch_is_not_committed_past_until_released() -> None:
    consumer = _Consumer()
    offsets = _offsets(consumer)
    offsets.handled(_records(A, 0, 1, 2))
    release = commits.hold(_records(A, 3, 4))  # its handler returned, its work goes on
    offsets.handled(_records(A, 3, 4))
    offsets.handled(_records(A, 5))  # a later batch, handled meanwhile
    offsets.handled(_records(B, 9))
    await eventually(soon(lambda: bool(consumer.committed)), within=5)
    await asyncio.sleep(0.05)  # several intervals: the held offset is committed once
    assert consumer.committed == [{A: 3, B: 10}]
    release()
    release()  # a second call changes nothing
    await eventually(soon(lambda: len(consumer.committed) == 2), within=5)
    assert consumer.committed[1] == {A: 6}


async def test_without_an_interval_a_held_batch_still_holds_its_partition() -> None:
    consumer = _Consumer()
    offsets = commits.Offsets(consumer, 0)
    release = commits.hold(_records(A, 4))
    offsets.handled(_records(A, 4, 5))
    await offsets.commit()
    assert consumer.committed == [{A: 4}]
    release()
    await eventually(soon(lambda: len(consumer.committed) == 2), within=5)
    assert consumer.committed[1] == {A: 6}


@pytest.mark.integration
async def test_a_trickle_of_batches_is_committed_a_few_times_to_its_end(
    kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = await new_topic(kafka, "commits"), f"commits-{uuid.uuid4().hex[:8]}"
    made_at: list[float] = []
    commit = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        made_at.append(time.monotonic())
        await commit(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    interval = 0.3
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka, kafka_commit_interval_ms=int(interval * 1000)
    )
    broker = make_broker(settings, "commits-test")
    handled: list[int] = []
    batches = 0

    async def handle(records: Records) -> None:
        nonlocal batches
        batches += 1
        handled.extend(record.offset for record in records)

    options = batch_subscription(settings, group) | {"auto_offset_reset": "earliest"}
    broker.subscriber(topic, **options)(handle)
    count = 20
    await broker.start()
    try:
        async with producer(kafka) as kafka_producer:
            for number in range(count):
                await kafka_producer.send_and_wait(topic, str(number).encode())
                await asyncio.sleep(0.02)  # a trickle: batches of one or two
        await eventually(soon(lambda: len(handled) == count), within=30)
        partition = TopicPartition(topic, 0)
        consumer = broker.subscribers[0].consumer  # type: ignore[attr-defined]

        async def committed_to_the_end() -> bool:
            return bool(await consumer.committed(partition) == count)

        await eventually(committed_to_the_end, within=10)
    finally:
        await broker.stop()
    assert sorted(handled) == list(range(count))
    # Commits wait out the interval after one another (but the last, at stop, may come sooner):
    # however slow the machine, never a commit for every batch of the trickle, FastStream's way,
    # which would come every 20 ms. The timer may fire a clock tick early, hence the 10 %.
    gaps = [later - earlier for earlier, later in itertools.pairwise(made_at)][:-1]
    assert all(gap >= 0.9 * interval for gap in gaps), f"commits {gaps} s apart"
    # The end was committed (waited for above): fewer commits than batches.
    assert len(made_at) < batches, f"{len(made_at)} commits for {batches} batches"
