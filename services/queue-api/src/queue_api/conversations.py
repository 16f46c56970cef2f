"""Keeps every conversation the system sees, for backtests and the tuning report.

queue-api consumes ``chat.messages`` in a consumer group of its own (``queue-api-conversations``)
and stores each message once (idempotent on ``message_id``: a redelivery changes no counter).
Invalid records are counted and skipped: the detector already dead-letters every invalid chat
message, and a second copy in ``chat.messages.dlq`` would read as a second problem. A message
the database refuses is dead-lettered on its own instead of blocking its partition. A sweeper
deletes conversations whose last message is older than ``QUEUE_API_CONVERSATION_RETENTION_DAYS``.
"""

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from aiokafka import ConsumerRecord
from prometheus_client import Counter

from escalator_runtime.db import Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
    decode_records,
)
from escalator_runtime.periodic import Periodic
from escalator_runtime.service import ServiceContext
from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage
from queue_api import conversation_repository as sql

log = structlog.get_logger(__name__)

CONSUMER_GROUP = "queue-api-conversations"
INVALID_SKIPPED = Counter(
    "escalator_conversation_store_invalid",
    "Invalid chat messages the conversation store skipped (the detector dead-letters them)",
)
SWEEP_INTERVAL_SECONDS = 3600.0

Accepted = list[tuple[ConsumerRecord[bytes, bytes], ChatMessage]]


async def _store_one_by_one(pool: Pool, accepted: Accepted) -> tuple[int, list[Rejected]]:
    """After the database refused a batch: each message on its own, so the one it refuses
    goes to the dead-letter topic and the rest are kept."""
    stored, refused = 0, []
    for record, message in accepted:
        try:
            async with pool.acquire() as connection:
                stored += await sql.store_messages(
                    connection, [sql.message_row(message, record.value)]
                )
        except asyncpg.DataError as error:
            refused.append(Rejected(record, f"database refused it: {error}", "database_error"))
    return stored, refused


async def store(pool: Pool, accepted: Accepted) -> tuple[int, list[Rejected]]:
    """Store a batch's valid messages; returns how many were new, and the refused ones."""
    if not accepted:
        return 0, []
    rows = [sql.message_row(message, record.value) for record, message in accepted]
    try:
        async with pool.acquire() as connection:
            return await sql.store_messages(connection, rows), []
    except asyncpg.DataError:
        log.warning("the database refused a batch of chat messages; storing one by one")
        return await _store_one_by_one(pool, accepted)


class ConversationSweeper(Periodic):
    """Deletes expired conversations at start-up and then every ``interval_seconds``."""

    def __init__(
        self, pool: Pool, retention: timedelta, interval_seconds: float = SWEEP_INTERVAL_SECONDS
    ) -> None:
        super().__init__("conversation-sweeper", self.sweep, interval_seconds)
        self._pool = pool
        self._retention = retention

    async def sweep(self, now: datetime | None = None) -> int:
        deleted = await sql.delete_expired(self._pool, (now or datetime.now(UTC)) - self._retention)
        if deleted:
            log.info("expired conversations deleted", count=deleted)
        return deleted


async def register(
    context: ServiceContext, retention_days: float, batch_wait_ms: int = 0
) -> ConversationSweeper:
    """Consume ``chat.messages`` into the conversation store and start the retention sweeper
    (call from the service's set-up; the sweeper stops with the service).

    With ``batch_wait_ms``, the broker holds each fetch until that much time has passed (or a
    megabyte is there): nobody waits on the store, and at 500 messages/s one statement per
    ~125 messages instead of one per one or two takes most of the service's CPU and the
    database's work off the path an escalation travels."""
    pool, broker = context.pool, context.broker

    async def on_chat_messages(records: Records) -> None:
        MESSAGES_CONSUMED.labels(CONSUMER_GROUP, topics.CHAT_MESSAGES).inc(len(records))
        accepted, rejected = decode_records(records, ChatMessage)
        INVALID_SKIPPED.inc(len(rejected))
        stored, refused = await store(pool, accepted)
        if stored:
            log.debug("chat messages stored", count=stored)
        if refused:
            await dead_letter(broker, CONSUMER_GROUP, refused)

    options = batch_subscription(context.settings, CONSUMER_GROUP, gather_ms=batch_wait_ms)
    broker.subscriber(topics.CHAT_MESSAGES, **options)(on_chat_messages)
    sweeper = ConversationSweeper(pool, timedelta(days=retention_days))
    await sweeper.start()
    context.cleanup.push_async_callback(sweeper.stop)
    context.extras["conversation_sweeper"] = sweeper
    return sweeper
