"""Issue 11: queue-api keeps every conversation it reads on ``chat.messages`` (real broker,
real database): once per message however often it is delivered, poison skipped, and
deleted by the retention sweep once its last message is older than the retention."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from escalator_schemas import topics
from queue_api.conversations import ConversationSweeper
from tests.queue_api.support import pool_of
from tests.stack import eventually, now, producer

pytestmark = pytest.mark.integration


def skipped() -> float:
    return REGISTRY.get_sample_value("escalator_conversation_store_invalid_total") or 0.0


def chat_message(tenant: str, conversation: str, number: int, **fields: Any) -> bytes:
    document = {
        "message_id": f"{conversation}-m{number}",
        "conversation_id": conversation,
        "tenant_id": tenant,
        "agent_id": "agent-1",
        "role": "customer" if number % 2 else "ai",
        "text": f"message {number}",
        "sent_at": (now() - timedelta(minutes=10 - number)).isoformat(),
    } | fields
    return json.dumps(document).encode()


async def test_each_message_is_stored_once_and_poison_is_skipped(
    queue_api: FastAPI, kafka: str, unique: str
) -> None:
    tenant, conversation = f"t-{unique}", f"c-{unique}"
    poison = b'{"message_id": "broken", "role": 42'
    first, second, third = (chat_message(tenant, conversation, n) for n in (1, 2, 3))
    with_nul = chat_message(tenant, conversation, 5, text="refund\x00 now")
    last = chat_message(tenant, conversation, 4)
    skipped_before = skipped()
    async with producer(kafka) as kafka_producer:
        # Redeliveries of the first two come before the last message, in the same partition.
        for value in (first, second, third, first, second, poison, with_nul, last):
            await kafka_producer.send_and_wait(
                topics.CHAT_MESSAGES, value, key=conversation.encode()
            )
        pool = pool_of(queue_api)

        async def last_stored() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM conversation_messages WHERE message_id = $1",
                    f"{conversation}-m4",
                )
            )

        await eventually(last_stored)

    row = await pool.fetchrow(
        "SELECT * FROM conversations WHERE tenant_id = $1 AND conversation_id = $2",
        tenant,
        conversation,
    )
    messages = await pool.fetch(
        "SELECT message_id, message FROM conversation_messages WHERE conversation_id = $1"
        " ORDER BY sent_at",
        conversation,
    )
    assert row is not None
    assert row["message_count"] == 5
    assert (row["agent_id"], row["environment"]) == ("agent-1", "published")
    assert [m["message_id"] for m in messages] == [f"{conversation}-m{n}" for n in range(1, 6)]
    assert row["first_message_at"] == datetime.fromisoformat(json.loads(first)["sent_at"])
    assert row["last_message_at"] == datetime.fromisoformat(json.loads(with_nul)["sent_at"])
    assert messages[-1]["message"]["text"] == "refund\ufffd now"
    # The detector dead-letters invalid chat messages; the store only counts what it skipped.
    assert skipped() - skipped_before == 1


async def test_the_retention_sweep_deletes_conversations_past_their_retention(
    queue_api: FastAPI, kafka: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    old, recent = f"old-{unique}", f"recent-{unique}"
    long_ago = (now() - timedelta(days=31)).isoformat()
    async with producer(kafka) as kafka_producer:
        for conversation, sent_at in ((old, long_ago), (old, long_ago), (recent, None)):
            fields = {"sent_at": sent_at} if sent_at else {}
            await kafka_producer.send_and_wait(
                topics.CHAT_MESSAGES,
                chat_message(tenant, conversation, 1, **fields),
                key=conversation.encode(),
            )
    pool = pool_of(queue_api)

    async def both_stored() -> bool:
        count = await pool.fetchval(
            "SELECT count(*) FROM conversations WHERE tenant_id = $1", tenant
        )
        return bool(count == 2)

    await eventually(both_stored)
    # The service's own sweeper (default retention: 30 days).
    sweeper: ConversationSweeper = queue_api.state.context.extras["conversation_sweeper"]
    deleted = await sweeper.sweep()

    kept = await pool.fetch(
        "SELECT conversation_id FROM conversations WHERE tenant_id = $1", tenant
    )
    orphans = await pool.fetchval(
        "SELECT count(*) FROM conversation_messages WHERE conversation_id = $1", old
    )
    assert deleted >= 1
    assert [row["conversation_id"] for row in kept] == [recent]
    assert orphans == 0


def store_batches() -> float:
    return (
        REGISTRY.get_sample_value(
            "escalator_batch_processing_seconds_count",
            {"service": "queue-api", "topic": topics.CHAT_MESSAGES},
        )
        or 0.0
    )


async def test_a_trickle_of_messages_is_stored_in_a_few_batches(
    queue_api: FastAPI, kafka: str, unique: str
) -> None:
    """The broker gathers chat messages for the store (QUEUE_API_CONVERSATION_BATCH_WAIT_MS):
    messages sent one by one, each acknowledged before the next, arrive in far fewer batches
    than messages (without the wait, an idle consumer takes each one as it comes)."""
    tenant, conversation, count = f"t-{unique}", f"c-{unique}", 16
    pool = pool_of(queue_api)

    async def stored(wanted: int) -> bool:
        found = await pool.fetchval(
            "SELECT count(*) FROM conversation_messages WHERE conversation_id = $1", conversation
        )
        return bool(found == wanted)

    async with producer(kafka) as kafka_producer:
        # A first message, stored before counting: the consumer has caught up with the topic.
        await kafka_producer.send_and_wait(
            topics.CHAT_MESSAGES, chat_message(tenant, conversation, 0), key=conversation.encode()
        )
        await eventually(lambda: stored(1))
        before = store_batches()
        for number in range(1, count + 1):
            await kafka_producer.send_and_wait(
                topics.CHAT_MESSAGES,
                chat_message(tenant, conversation, number),
                key=conversation.encode(),
            )
            await asyncio.sleep(0.025)  # a trickle: each message on its own
        await eventually(lambda: stored(count + 1))

    assert store_batches() - before <= count / 2
