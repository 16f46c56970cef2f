"""Issue 3/10: one slow message does not hold up every conversation. The detector's consumers
each own their own partitions, so while a batch waits on a slow language model (here a real
HTTP LLM on 127.0.0.1 that stalls on one message), conversations on the other consumer's
partitions are still decided, and the stalled one is decided once the model answers. Within
a batch, the conversations that need no model are decided and published first."""

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request

from escalator_schemas import topics
from escalator_schemas.events import EscalationDetected
from tests.stack import (
    ServiceProcess,
    TopicTail,
    demo_config,
    now,
    producer,
    publish_config,
    serving_in_thread,
    tail,
)

pytestmark = pytest.mark.integration

STALL = "stall-this-message"


class StallingLlm:
    """An OpenAI-compatible endpoint that answers "no condition met" at once, except for a
    message containing ``STALL``: that answer waits until ``release`` is set."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.app.post("/v1/chat/completions")(self.complete)

    async def complete(self, request: Request) -> dict[str, Any]:
        question = json.loads((await request.json())["messages"][-1]["content"])
        if any(STALL in message["text"] for message in question["messages"]):
            self.stalled.set()
            await asyncio.to_thread(self.release.wait)
        results = [
            {
                "message": message["id"],
                "conditions": [
                    {"condition": condition["id"], "matched": False, "confidence": 0.9}
                    for condition in question["conditions"]
                ],
            }
            for message in question["messages"]
        ]
        content = json.dumps({"results": results})
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


@pytest.fixture
def stalling_llm() -> Iterator[tuple[str, StallingLlm]]:
    llm = StallingLlm()
    with serving_in_thread(llm.app) as url:
        try:
            yield f"{url}/v1", llm
        finally:
            llm.release.set()  # before the server waits for its requests to end


async def detector_asking(
    llm_url: str, kafka: str, database: str, tenant: str, agent: str, consumers: int
) -> ServiceProcess:
    """A detector (not started) whose trigger conditions go to the LLM at ``llm_url``, for an
    agent with the demo configuration."""
    await publish_config(database, tenant, agent, demo_config(idle_timeout_seconds=None))
    return ServiceProcess(
        "detector.main",
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "DATABASE_URL": database,
            "DETECTOR_CONSUMERS": str(consumers),
            "DETECTOR_LLM_BASE_URL": llm_url,
            "DETECTOR_LLM_TIMEOUT_SECONDS": "120",
        },
        "DETECTOR_PORT",
    )


async def first_while_the_model_waits(
    escalations: TopicTail, llm: StallingLlm, fast: str, slow: str
) -> list[EscalationDetected]:
    """The escalations of conversations ``fast`` and ``slow``: ``fast``'s alone while the LLM
    still holds ``slow``'s message, then both once it answers."""
    keys = (fast.encode(), slow.encode())
    decided = await escalations.wait_for_matching(lambda r: r.key in keys, count=1, within=60)
    assert [r.key for r in decided] == [fast.encode()]
    assert not llm.release.is_set()
    llm.release.set()
    both = await escalations.wait_for_matching(lambda r: r.key in keys, count=2, within=60)
    return [EscalationDetected.model_validate_json(r.value) for r in both]


async def test_a_batch_waiting_on_the_model_does_not_hold_up_other_partitions(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    url, llm = stalling_llm
    tenant, agent = f"t-{unique}", f"a-{unique}"
    detector = await detector_asking(url, kafka, database, tenant, agent, consumers=2)

    def chat(conversation: str, text: str) -> bytes:
        return json.dumps(
            {
                "message_id": f"{conversation}-1",
                "conversation_id": conversation,
                "tenant_id": tenant,
                "agent_id": agent,
                "role": "customer",
                "text": text,
                "sent_at": (now() - timedelta(seconds=1)).isoformat(),
            }
        ).encode()

    slow, fast = f"slow-{unique}", f"fast-{unique}"
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        try:
            await detector.start()
            # Two consumers split the six partitions: 0 and 5 belong to different ones.
            await send.send_and_wait(
                topics.CHAT_MESSAGES,
                chat(slow, f"I want to talk to a human about my order ({STALL})"),
                key=slow.encode(),
                partition=0,
            )
            assert await asyncio.to_thread(llm.stalled.wait, 60), "the model was never asked"
            await send.send_and_wait(
                topics.CHAT_MESSAGES,
                chat(fast, "I want to talk to a human about my refund"),
                key=fast.encode(),
                partition=5,
            )
            events = await first_while_the_model_waits(escalations, llm, fast, slow)
            assert [e.conversation_id for e in events] == [fast, slow]
            assert {e.trigger.kind for e in events} == {"keyword"}
        finally:
            detector.stop()


async def test_in_a_batch_waiting_on_the_model_the_other_conversations_go_first(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    url, llm = stalling_llm
    tenant, agent = f"t-{unique}", f"a-{unique}"
    detector = await detector_asking(url, kafka, database, tenant, agent, consumers=1)
    slow, fast = f"slow-{unique}", f"fast-{unique}"
    sent_at = (now() - timedelta(seconds=1)).isoformat()
    common = {"tenant_id": tenant, "agent_id": agent, "sent_at": sent_at}
    # The customer's message is for the LLM to judge (the agent has a trigger condition); the
    # AI's answer, below its confidence threshold, escalates the other conversation by itself.
    waits = common | {
        "message_id": f"{slow}-1",
        "conversation_id": slow,
        "role": "customer",
        "text": f"I want to talk to a human about my order ({STALL})",
    }
    unsure = common | {
        "message_id": f"{fast}-2",
        "conversation_id": fast,
        "role": "ai",
        "text": "I am not sure, maybe try restarting it?",
        "ai_confidence": 0.1,
    }
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        try:
            # Both are there before the detector starts: its first poll reads them together.
            for document, key in ((waits, slow), (unsure, fast)):
                await send.send_and_wait(
                    topics.CHAT_MESSAGES,
                    json.dumps(document).encode(),
                    key=key.encode(),
                    partition=0,
                )
            await detector.start()
            assert await asyncio.to_thread(llm.stalled.wait, 60), "the model was never asked"
            events = await first_while_the_model_waits(escalations, llm, fast, slow)
            assert [(e.conversation_id, e.trigger.kind) for e in events] == [
                (fast, "confidence"),
                (slow, "keyword"),
            ]
        finally:
            detector.stop()


class OnPartitionZero:
    """Sends an agent's customer messages, all on partition 0 (one consumer's)."""

    def __init__(self, send: AIOKafkaProducer, tenant: str, agent: str) -> None:
        self._send, self._tenant, self._agent = send, tenant, agent

    async def __call__(self, conversation: str, number: int, text: str) -> None:
        message = {
            "message_id": f"{conversation}-{number}",
            "conversation_id": conversation,
            "tenant_id": self._tenant,
            "agent_id": self._agent,
            "role": "customer",
            "text": text,
            "sent_at": (now() - timedelta(seconds=1)).isoformat(),
        }
        await self._send.send_and_wait(
            topics.CHAT_MESSAGES,
            json.dumps(message).encode(),
            key=conversation.encode(),
            partition=0,
        )

    async def stalled(self, llm: StallingLlm, conversation: str) -> None:
        """``conversation``'s first message, once the LLM holds it."""
        await self(conversation, 1, f"I want to talk to a human about my order ({STALL})")
        assert await asyncio.to_thread(llm.stalled.wait, 60), "the model was never asked"


async def test_the_consumer_goes_on_with_later_batches_while_the_model_reads_an_earlier_one(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    url, llm = stalling_llm
    tenant, agent = f"t-{unique}", f"a-{unique}"
    detector = await detector_asking(url, kafka, database, tenant, agent, consumers=1)
    slow, fast = f"slow-{unique}", f"fast-{unique}"
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        chat = OnPartitionZero(send, tenant, agent)
        try:
            await detector.start()
            await chat.stalled(llm, slow)
            # Later batches of the same partition: the waiting conversation's next message must
            # wait its turn; another conversation's need not.
            await chat(slow, 2, "cancel my subscription")
            await chat(fast, 1, "I want to talk to a human about my refund")
            events = await first_while_the_model_waits(escalations, llm, fast, slow)
            # The conversation escalated at its first message; its second, read while the model
            # had the first, came after it (paused: nothing more).
            assert [(e.conversation_id, e.trigger_message_id) for e in events] == [
                (fast, f"{fast}-1"),
                (slow, f"{slow}-1"),
            ]
        finally:
            detector.stop()


async def test_a_message_still_with_the_model_when_the_detector_dies_is_read_again(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    url, llm = stalling_llm
    tenant, agent = f"t-{unique}", f"a-{unique}"
    detector = await detector_asking(url, kafka, database, tenant, agent, consumers=1)
    slow, fast = f"slow-{unique}", f"fast-{unique}"
    keys = (slow.encode(), fast.encode())
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        chat = OnPartitionZero(send, tenant, agent)
        try:
            await detector.start()
            await chat.stalled(llm, slow)
            await chat(fast, 1, "I want to talk to a human about my refund")
            await escalations.wait_for_matching(lambda r: r.key == fast.encode(), 1, within=60)
            # The later batch is handled; its offset would be committed within 100 ms.
            await asyncio.sleep(1.0)
            detector.kill()
            llm.release.set()
            detector = await detector_asking(url, kafka, database, tenant, agent, consumers=1)
            await detector.start()
            found = await escalations.wait_for_matching(lambda r: r.key == slow.encode(), 1, 90)
        finally:
            detector.stop()
    events = [EscalationDetected.model_validate_json(r.value) for r in found]
    assert [(e.conversation_id, e.trigger_message_id) for e in events] == [(slow, f"{slow}-1")]
    # The later batch was read again too: its escalation may come again, the same one.
    ids = {
        key: {
            EscalationDetected.model_validate_json(record.value).escalation_id
            for record in escalations.records
            if record.key == key
        }
        for key in keys
    }
    assert [len(ids[key]) for key in keys] == [1, 1]
