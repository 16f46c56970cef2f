"""Chat traffic whose escalations are known in advance, and a chat backend that publishes it
at a steady pace and keeps trying while the broker is away."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from escalator_schemas import topics
from escalator_schemas.ids import escalation_id_for

CALM = [
    "Hi! Could you tell me whether the {item} also comes in blue?",
    "Thanks, that helps. What are your opening hours on Saturday?",
    "Great, and how long does delivery to Lyon usually take?",
    "Perfect, I will order the {item} this evening. Have a nice day!",
]
AI = [
    "Sure! The {item} comes in blue, green and grey.",
    "We are open from 9 am to 6 pm on Saturdays.",
    "Delivery to Lyon takes two to three business days.",
]
ITEMS = ["Harbor tent", "Atlas chair", "Lumen lamp", "Glow serum"]
KEYWORD = "This is going nowhere, I want to talk to a human please."
AGAIN = "Hello? I asked to speak to a person. Is anybody there?"


@dataclass
class Traffic:
    """Messages in publishing order (conversations interleaved) and, per escalating
    conversation, the message that must escalate it: its first keyword message. A second
    keyword message follows in each, which must not escalate again (the AI is paused)."""

    tenant: str
    agent: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    triggers: dict[str, str] = field(default_factory=dict)  # conversation → message id

    @property
    def expected(self) -> set[UUID]:
        return {
            escalation_id_for(self.tenant, self.agent, "published", conversation, message_id)
            for conversation, message_id in self.triggers.items()
        }


def traffic(
    tenant: str, agent: str, conversations: int, per_conversation: int, escalate_every: int
) -> Traffic:
    plan = Traffic(tenant, agent)
    start = datetime.now(UTC)
    for turn in range(per_conversation):
        for number in range(conversations):
            conversation = f"{agent}-c{number}"
            customer = turn % 2 == 0
            # A customer turn, early enough for the repeat two turns later to fit, and spread
            # over the stream: some escalations come early, others late.
            first_keyword = 2 * (1 + (number // escalate_every) % ((per_conversation - 4) // 2))
            escalating = number % escalate_every == 0
            if customer and escalating and turn == first_keyword:
                text = KEYWORD
            elif customer and escalating and turn == first_keyword + 2:
                text = AGAIN
            else:
                pool = CALM if customer else AI
                text = pool[(turn // 2) % len(pool)].format(item=ITEMS[number % len(ITEMS)])
            message_id = f"{conversation}-m{turn}"
            if text == KEYWORD:
                plan.triggers[conversation] = message_id
            plan.messages.append(
                {
                    "message_id": message_id,
                    "conversation_id": conversation,
                    "tenant_id": tenant,
                    "agent_id": agent,
                    "role": "customer" if customer else "ai",
                    "text": text,
                    "sent_at": (start + timedelta(seconds=turn)).isoformat(),
                    "ai_confidence": None if customer else 0.95,
                    "customer": {"id": f"cus-{number}", "name": f"Customer {number}"},
                }
            )
    return plan


@asynccontextmanager
async def chat_backend(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    """The chat backend's producer. Its short request timeout notices a broker that went away
    within seconds, so the backend sends again, as it would in production."""
    kafka_producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", request_timeout_ms=5000)
    await kafka_producer.start()
    try:
        yield kafka_producer
    finally:
        await kafka_producer.stop()


@dataclass
class Publishing:
    sent: int = 0
    failures: int = 0  # sends the broker did not acknowledge, each retried


async def publish_steadily(
    producer: AIOKafkaProducer,
    messages: list[dict[str, Any]],
    rate: float,
    progress: Publishing,
    topic: str = topics.CHAT_MESSAGES,
) -> None:
    """One message after the other at ``rate`` per second, as a chat backend would: a send the
    broker does not acknowledge is repeated (same message id) until it is, so each
    conversation's order holds and nothing is skipped; the detector ignores a repeat."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, message in enumerate(messages):
        ahead = started + index / rate - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)  # pacing: this is the traffic's rate, not a wait
        value, key = json.dumps(message).encode(), str(message["conversation_id"]).encode()
        while True:
            try:
                await producer.send_and_wait(topic, value, key=key)
                break
            except KafkaError:
                progress.failures += 1
                await asyncio.sleep(0.5)
        progress.sent += 1


async def publish_all(producer: AIOKafkaProducer, messages: list[dict[str, Any]]) -> None:
    """As fast as the producer batches them (order per conversation kept: one producer)."""
    futures = [
        await producer.send(
            topics.CHAT_MESSAGES,
            json.dumps(message).encode(),
            key=str(message["conversation_id"]).encode(),
        )
        for message in messages
    ]
    await asyncio.gather(*futures)
