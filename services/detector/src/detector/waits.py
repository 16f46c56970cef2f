"""Conversations whose messages are still with the language model after their batch's handler
returned.

A batch's handler decides and publishes at once what the cheap signals settle, and leaves the
conversations waiting on the model to a task of their own: its consumer goes on with the next
batches meanwhile, instead of holding up every conversation of its partitions for the model's
tens of milliseconds (an external LLM's seconds). What keeps that safe:

- order: a later message of a waiting conversation is decided after it, by a task that waits
  for it (``busy``), while the handler goes on with the other conversations;
- no loss: the batch's offsets are held (``commits.hold``) until its waiting conversations are
  decided and published, so a crash meanwhile reads them again, whatever later batches noted;
- a bounded replay: the consumers read at most ``read_ahead`` records past the oldest batch
  still waiting (``wait_if_too_far_ahead``), since a crash or a rebalance reads all of those
  again, and each waiting batch is held in memory until then.
"""

import asyncio
from collections.abc import Collection, Coroutine, Iterable
from typing import Any

import structlog
from aiokafka import ConsumerRecord

from detector.state import ConversationKey
from escalator_runtime import commits

log = structlog.get_logger(__name__)


class ModelWaits:
    """The tasks deciding what a handler left to the model, by the conversations each one
    decides (a later task of the same conversation takes its place there), and how many
    records the consumers had read when each one started."""

    def __init__(self, read_ahead: int) -> None:
        self._of: dict[ConversationKey, asyncio.Task[None]] = {}
        self._read_at: dict[asyncio.Task[None], int] = {}
        """Each task, with how many records had been read when it started (oldest first)."""
        self._read = 0
        self._read_ahead = read_ahead

    def __len__(self) -> int:
        """How many batches have conversations still waiting."""
        return len(self._read_at)

    def busy(self, keys: Iterable[ConversationKey]) -> dict[ConversationKey, asyncio.Task[None]]:
        """Those of ``keys`` with a message still waiting on the model, and what decides it:
        their next messages must wait for it."""
        return {key: self._of[key] for key in keys if key in self._of}

    def start(
        self,
        keys: Collection[ConversationKey],
        records: Iterable[ConsumerRecord[bytes, bytes]],
        work: Coroutine[Any, Any, None],
    ) -> None:
        """Run ``work``, which decides the conversations ``keys`` of the batch ``records``,
        holding the batch's offsets until it is done."""
        release = commits.hold(records)
        task = asyncio.create_task(work)
        self._read_at[task] = self._read
        for key in keys:
            self._of[key] = task

        def done(task: asyncio.Task[None]) -> None:
            release()
            del self._read_at[task]
            for key in keys:
                if self._of.get(key) is task:
                    del self._of[key]
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("decisions waiting on the model failed", exc_info=error)

        task.add_done_callback(done)

    async def wait_if_too_far_ahead(self, records: int) -> None:
        """Count a handled batch of ``records``, then wait until the oldest batch still
        waiting is at most ``read_ahead`` records behind (a handler awaiting this holds up its
        consumer's next poll)."""
        self._read += records
        while self._read_at:
            oldest, read_at = next(iter(self._read_at.items()))
            if self._read - read_at <= self._read_ahead:
                return
            await asyncio.wait({oldest})

    async def stop(self, within: float) -> None:
        """On shutdown: let the decisions under way finish, for up to ``within`` seconds, then
        cancel the rest (their offsets were never committed: they are read again)."""
        if not self._read_at:
            return
        _, late = await asyncio.wait(set(self._read_at), timeout=within)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
