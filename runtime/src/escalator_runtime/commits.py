"""Consumer offsets committed in the background, at most every ``KAFKA_COMMIT_INTERVAL_MS``.

FastStream commits a batch's offsets once its handler returned, and waits for the broker's
answer before it polls again: a round trip on every batch, in the way of every record behind
it, and a commit for the broker to write per batch (hundreds a second for a busy consumer of
small batches). Here a handled batch only notes its offsets; a background task commits what
was noted, at most every interval.

What a crash costs stays what it was — records handled but not yet committed are handled
again, which every handler tolerates (they are idempotent) — only up to an interval's worth of
them instead of one batch. Offsets are never committed ahead of the handling: only handled
batches note theirs. Offsets noted before a rebalance are dropped (the partition may have moved
on under another consumer: committing them could move it back).

A handler may also return before all of its batch is handled, leaving part of it to finish in
the background (the detector's messages waiting on the language model): it ``hold``s the
batch's records, and until it releases them no commit passes the first of them on its
partition, whatever later batches noted.
"""

import asyncio
import weakref
from collections import Counter
from collections.abc import Callable, Iterable

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from faststream.kafka.message import KafkaAckableMessage, KafkaMessage

log = structlog.get_logger(__name__)

INTERVAL_SECONDS = 0.1
"""Set from ``KAFKA_COMMIT_INTERVAL_MS`` when a broker is made (0: commit every batch before
the next poll, FastStream's own way, held batches aside)."""

HELD_RECHECK_SECONDS = 0.1
"""Without an interval, how often what a held batch kept back is tried again."""


_HELD: dict[TopicPartition, Counter[int]] = {}
"""The first offset of each held batch on each partition (a count: batches may share one)."""


def hold(records: Iterable[ConsumerRecord[bytes, bytes]]) -> Callable[[], None]:
    """Keep every commit on the partitions of ``records`` before the first of them, until the
    returned function is called (once the records are handled, or given up on: a crash
    before then reads them again)."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        first[partition] = min(record.offset, first.get(partition, record.offset))
    for partition, offset in first.items():
        _HELD.setdefault(partition, Counter())[offset] += 1

    def release() -> None:
        for partition, offset in first.items():
            held = _HELD[partition]
            held[offset] -= 1
            if not held[offset]:
                del held[offset]
            if not held:
                del _HELD[partition]
        first.clear()  # released once, however often called

    return release


def _generation(consumer: AIOKafkaConsumer) -> int:
    """The consumer group generation the consumer is in (it changes with every rebalance)."""
    coordinator = getattr(consumer, "_coordinator", None)
    return int(getattr(coordinator, "generation", -1))


class Offsets:
    """The handled offsets of one consumer, waiting to be committed."""

    def __init__(self, consumer: AIOKafkaConsumer, interval: float) -> None:
        self._consumer = consumer
        self._interval = interval
        self._pending: dict[TopicPartition, tuple[int, int]] = {}
        """The next offset to read of each partition, and the generation it was noted in."""
        self._committing: asyncio.Task[None] | None = None
        self._committed: dict[TopicPartition, tuple[int, int]] = {}
        """What was last committed of each partition, and in which generation (a held
        partition is not committed again at the same offset)."""

    def handled(self, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
        """Note that ``records`` were handled; they are committed within the interval."""
        generation = _generation(self._consumer)
        pending = self._pending
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            noted = pending.get(partition)
            if noted is None or record.offset >= noted[0] or noted[1] != generation:
                pending[partition] = (record.offset + 1, generation)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_later())

    async def _commit_later(self) -> None:
        while self._pending:
            await asyncio.sleep(self._interval or HELD_RECHECK_SECONDS)
            await self.commit()

    async def commit(self) -> None:
        """Commit what was noted, now. A broker that cannot take it keeps it for the next try;
        what no longer belongs to this consumer is dropped."""
        noted, self._pending = self._pending, {}
        if getattr(self._consumer, "_closed", False):
            return  # stopped: its partitions are read from their last commit next time
        generation = _generation(self._consumer)
        assigned = self._consumer.assignment()
        offsets = {}
        for partition, (handled, noted_in) in noted.items():
            if noted_in != generation or partition not in assigned:
                continue
            held = _HELD.get(partition)
            offset = min(handled, *held) if held else handled
            if offset < handled:
                self._pending[partition] = (handled, noted_in)  # the rest once released
            if self._committed.get(partition) != (offset, generation):
                offsets[partition] = offset
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
            self._committed |= {p: (offset, generation) for p, offset in offsets.items()}
        except (CommitFailedError, IllegalStateError) as error:
            # A rebalance in between: these partitions are read from their last commit again.
            log.info("offsets not committed: the group rebalanced", error=str(error))
        except KafkaError as error:
            for partition, offset in offsets.items():
                later = self._pending.get(partition)
                if later is None or later[0] < offset:
                    self._pending[partition] = (offset, generation)
            log.warning("offsets not committed yet; trying again", error=repr(error))


_OFFSETS: "weakref.WeakKeyDictionary[AIOKafkaConsumer, Offsets]" = weakref.WeakKeyDictionary()


def offsets_of(consumer: AIOKafkaConsumer) -> Offsets:
    offsets = _OFFSETS.get(consumer)
    if offsets is None:
        offsets = _OFFSETS[consumer] = Offsets(consumer, INTERVAL_SECONDS)
    return offsets


async def commit_all() -> None:
    """Commit every consumer's noted offsets now (before the consumers stop)."""
    await asyncio.gather(*(offsets.commit() for offsets in list(_OFFSETS.values())))


async def _ack(self: KafkaAckableMessage) -> None:
    """``KafkaAckableMessage.ack``, noting the batch's offsets instead of committing them."""
    consumer = self.consumer
    if not self.committed:
        if isinstance(consumer, AIOKafkaConsumer):
            raw = self.raw_message
            offsets = offsets_of(consumer)
            offsets.handled(raw if isinstance(raw, tuple) else (raw,))
            if INTERVAL_SECONDS == 0:
                await offsets.commit()
        else:
            await consumer.commit()  # the in-memory test broker's consumer
    await KafkaMessage.ack(self)


KafkaAckableMessage.ack = _ack  # type: ignore[method-assign]
