"""What every consumer does when handling a batch fails (a broker middleware, so no handler has
to remember it). FastStream commits a batch's offsets only after the handler returned, and on
an error rewinds the partitions to re-read the batch; this decides how that happens:

- the database or the broker is away (a connection-type error): wait, 0.2 s doubling up to 5 s,
  before the batch is read again. Nothing is skipped, and an outage is not hammered by a
  consumer re-reading its batch in a tight loop;
- any other error may come from one record that can never be processed (a poison message: say
  a NUL character PostgreSQL refuses to store). The batch's records are then handled one at a
  time, in order; a record that fails ``ATTEMPTS`` times on its own goes to ``<topic>.dlq``
  with the error, and the records after it go on, so no partition stays blocked. Handlers are
  idempotent, so records of the batch handled before the failure may safely run again.
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.message import StreamMessage
from prometheus_client import Counter

log = structlog.get_logger(__name__)

ATTEMPTS = 3
FIRST_PAUSE_SECONDS = 0.2
LONGEST_PAUSE_SECONDS = 5.0

# Errors that say a dependency is unavailable, not that the record is bad: retried for ever.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset, DNS
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # the connection was closed under the query
    asyncpg.OperatorInterventionError,  # shutting down, starting up, statement cancelled
    asyncpg.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock
    KafkaError,
)

FAILED_BATCHES = Counter(
    "escalator_consumer_failed_batches",
    "Consumed batches whose handling failed, by what happened next",
    ["service", "outcome"],
)

Handler = Callable[[StreamMessage[Any]], Awaitable[Any]]


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT)


def _records(message: StreamMessage[Any]) -> tuple[ConsumerRecord[bytes, bytes], ...]:
    raw = message.raw_message
    return raw if isinstance(raw, tuple) else (raw,)


def _next_pause(seconds: float) -> float:
    """The pause after one of ``seconds``: doubling, from the first up to the longest."""
    return min(max(seconds * 2, FIRST_PAUSE_SECONDS), LONGEST_PAUSE_SECONDS)


class _Pauses:
    """The current wait of each subscriber after a transient failure; reset by a success."""

    def __init__(self) -> None:
        self._seconds: dict[int, float] = {}

    async def wait(self, subscriber: object) -> float:
        seconds = _next_pause(self._seconds.get(id(subscriber), 0.0))
        self._seconds[id(subscriber)] = seconds
        await asyncio.sleep(seconds)
        return seconds

    def reset(self, subscriber: object) -> None:
        self._seconds.pop(id(subscriber), None)


class _Redelivery(BaseMiddleware[Any, Any]):
    def __init__(self, msg: Any, /, *, context: ContextRepo, service: str, pauses: _Pauses) -> None:
        super().__init__(msg, context=context)
        self._service = service
        self._pauses = pauses

    async def consume_scope(self, call_next: Handler, msg: StreamMessage[Any]) -> Any:
        subscriber = self.context.get("handler_")
        try:
            result = await call_next(msg)
        except Exception as error:
            if is_transient(error):
                await self._pause(subscriber, error)
                raise
            log.warning(
                "batch failed; handling its records one at a time",
                error=f"{type(error).__name__}: {error}",
                records=len(_records(msg)),
            )
            FAILED_BATCHES.labels(self._service, "isolated").inc()
            await self._one_by_one(call_next, msg, subscriber)
            result = None
        self._pauses.reset(subscriber)
        return result

    async def _pause(self, subscriber: object, error: BaseException) -> None:
        FAILED_BATCHES.labels(self._service, "retried").inc()
        seconds = await self._pauses.wait(subscriber)
        log.warning(
            "batch failed: a dependency is unavailable; reading it again",
            error=f"{type(error).__name__}: {error}",
            waited_seconds=seconds,
        )

    async def _one_by_one(
        self, call_next: Handler, msg: StreamMessage[Any], subscriber: object
    ) -> None:
        from escalator_runtime.kafka import Rejected, dead_letter  # kafka.py imports this module

        poisoned: list[Rejected] = []
        for record in _records(msg):
            single = copy.copy(msg)
            single.raw_message = (record,) if isinstance(msg.raw_message, tuple) else record
            single.body = [record.value] if isinstance(msg.raw_message, tuple) else record.value
            error = await self._attempts(call_next, single, subscriber)
            if error is not None:
                poisoned.append(Rejected.failing(record, error))
        if poisoned:
            await dead_letter(self.context.get("broker"), self._service, poisoned)

    async def _attempts(
        self, call_next: Handler, single: StreamMessage[Any], subscriber: object
    ) -> Exception | None:
        """None once ``single`` was handled; its last error after ``ATTEMPTS`` failures. A
        transient error is raised: the whole batch is read again later."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # The handler reads its message from the context: give it this one record.
                with self.context.scope("message", single):
                    await call_next(single)
            except Exception as error:
                if is_transient(error):
                    await self._pause(subscriber, error)
                    raise
                if attempt == ATTEMPTS:
                    return error
                await asyncio.sleep(FIRST_PAUSE_SECONDS * attempt)
            else:
                return None
        return None


async def until_done(
    work: Callable[[], Awaitable[Any]], attempts: int = ATTEMPTS
) -> Exception | None:
    """For work a handler left running after its batch (it cannot be read again): run
    ``work`` until it succeeds (None), waiting out a dependency that is away (the pauses
    above) however long it takes; after ``attempts`` other failures, the last one."""
    pause, failures = 0.0, 0
    while True:
        try:
            await work()
        except Exception as error:
            if is_transient(error):
                pause = _next_pause(pause)
                log.warning(
                    "a dependency is unavailable; trying again",
                    error=f"{type(error).__name__}: {error}",
                    waited_seconds=pause,
                )
                await asyncio.sleep(pause)
                continue
            failures += 1
            if failures >= attempts:
                return error
            await asyncio.sleep(FIRST_PAUSE_SECONDS * failures)
        else:
            return None


def redelivery(service: str) -> Callable[..., BaseMiddleware[Any, Any]]:
    """The middleware for ``service``'s broker (``broker.add_middleware``)."""
    pauses = _Pauses()

    def build(msg: Any, /, *, context: ContextRepo) -> BaseMiddleware[Any, Any]:
        return _Redelivery(msg, context=context, service=service, pauses=pauses)

    return build
