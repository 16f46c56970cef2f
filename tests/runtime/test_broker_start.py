"""A service's consumers of one group join it together and read only once all joined
(escalator_runtime.kafka.start_broker): on a backlog, none reads alone until the next one's
join rebalances the group and its partitions are read again from their last commit."""

import uuid
from collections import Counter

import pytest

from escalator_runtime.kafka import Records, batch_subscription, make_broker, start_broker
from escalator_runtime.settings import ServiceSettings
from tests.stack import eventually, new_topic, producer


@pytest.mark.integration
async def test_two_consumers_of_a_group_split_a_backlog_and_read_nothing_twice(kafka: str) -> None:
    topic, group = await new_topic(kafka, "start", 6), f"start-{uuid.uuid4().hex[:8]}"
    count = 3_000
    async with producer(kafka) as kafka_producer:
        for number in range(count):
            await kafka_producer.send(topic, str(number).encode(), partition=number % 6)
        await kafka_producer.flush()
    # No commit before the end: a consumer that read before a rebalance leaves its share to be
    # read again by the one that takes its partitions over.
    settings = ServiceSettings(kafka_bootstrap_servers=kafka, kafka_commit_interval_ms=60_000)
    broker = make_broker(settings, "start-test")
    read: Counter[tuple[int, int]] = Counter()
    readers: Counter[int] = Counter()

    def reader(number: int) -> object:
        async def handle(records: Records) -> None:
            read.update((record.partition, record.offset) for record in records)
            readers[number] += len(records)

        return handle

    for number in range(2):
        broker.subscriber(topic, **batch_subscription(settings, group))(reader(number))
    await start_broker(broker)
    try:

        async def all_read() -> bool:
            return len(read) == count

        await eventually(all_read, within=60)
    finally:
        await broker.stop()
    twice = sum(times - 1 for times in read.values())
    assert twice == 0, f"{twice} of {count} records read again"
    assert set(readers) == {0, 1}, f"one consumer read everything: {dict(readers)}"
