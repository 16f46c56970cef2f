"""Issue 3/10: one slow message does not hold up every conversation. The detector's consumers
each own their own partitions, so while a batch waits on a slow language model (here a real
HTTP LLM on 127.0.0.1 that stalls on one message), conversations on the other consumer's
partitions are still decided, and the stalled one is decided once the model answers. Within
a batch, the conversations that need no model are decided and published first."""

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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
    eventually,
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


def chat_message(
    tenant: str, agent: str, conversation: str, number: int, text: str, **fields: Any
) -> bytes:
    """Message ``number`` of ``conversation`` as a chat backend publishes it: a customer's,
    sent a second ago, unless ``fields`` say otherwise."""
    message = {
        "message_id": f"{conversation}-{number}",
        "conversation_id": conversation,
        "tenant_id": tenant,
        "agent_id": agent,
        "role": "customer",
        "text": text,
        "sent_at": (now() - timedelta(seconds=1)).isoformat(),
    } | fields
    return json.dumps(message).encode()


@dataclass
class Scene:
    """A detector whose trigger conditions go to the stalling LLM, for one agent with the demo
    configuration, and conversations ``slow`` (whose message the LLM holds) and ``fast``."""

    kafka: str
    database: str
    llm_url: str
    llm: StallingLlm
    tenant: str
    agent: str
    consumers: int
    send: AIOKafkaProducer
    escalations: TopicTail
    slow: str
    fast: str
    settings: dict[str, str]
    """The detector's settings beyond the scene's own."""
    detector: ServiceProcess = field(init=False)

    def __post_init__(self) -> None:
        self.detector = self.new_detector()

    def new_detector(self) -> ServiceProcess:
        """A detector for the scene, not started."""
        return ServiceProcess(
            "detector.main",
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
                "DATABASE_URL": self.database,
                "DETECTOR_CONSUMERS": str(self.consumers),
                "DETECTOR_LLM_BASE_URL": self.llm_url,
                "DETECTOR_LLM_TIMEOUT_SECONDS": "120",
            }
            | self.settings,
            "DETECTOR_PORT",
        )

    async def message(
        self, conversation: str, number: int, text: str, partition: int = 0, **fields: Any
    ) -> None:
        """Send message ``number`` of ``conversation`` (``chat_message``) to ``partition``."""
        await self.send.send_and_wait(
            topics.CHAT_MESSAGES,
            chat_message(self.tenant, self.agent, conversation, number, text, **fields),
            key=conversation.encode(),
            partition=partition,
        )

    async def stall(self) -> None:
        """Send ``slow``'s first message, for the LLM to hold."""
        await self.message(self.slow, 1, f"I want to talk to a human about my order ({STALL})")

    async def stalled(self) -> None:
        assert await asyncio.to_thread(self.llm.stalled.wait, 60), "the model was never asked"


@asynccontextmanager
async def scene(
    kafka: str,
    database: str,
    unique: str,
    stalling_llm: tuple[str, StallingLlm],
    consumers: int,
    **settings: str,
) -> AsyncIterator[Scene]:
    """The scene, its escalations tailed from now on; its detector (with ``settings``) is
    stopped at the end."""
    url, llm = stalling_llm
    tenant, agent = f"t-{unique}", f"a-{unique}"
    await publish_config(database, tenant, agent, demo_config(idle_timeout_seconds=None))
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        found = Scene(
            kafka,
            database,
            url,
            llm,
            tenant,
            agent,
            consumers,
            send,
            escalations,
            f"slow-{unique}",
            f"fast-{unique}",
            settings,
        )
        try:
            yield found
        finally:
            found.detector.stop()


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
    async with scene(kafka, database, unique, stalling_llm, consumers=2) as it:
        await it.detector.start()
        # Two consumers split the six partitions: 0 and 5 belong to different ones.
        await it.stall()
        await it.stalled()
        await it.message(it.fast, 1, "I want to talk to a human about my refund", partition=5)
        events = await first_while_the_model_waits(it.escalations, it.llm, it.fast, it.slow)
        assert [e.conversation_id for e in events] == [it.fast, it.slow]
        assert {e.trigger.kind for e in events} == {"keyword"}


async def test_in_a_batch_waiting_on_the_model_the_other_conversations_go_first(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    async with scene(kafka, database, unique, stalling_llm, consumers=1) as it:
        # The customer's message is for the LLM to judge (the agent has a trigger condition);
        # the AI's answer, below its confidence threshold, escalates the other conversation by
        # itself. Both are there before the detector starts: its first poll reads them together.
        await it.stall()
        unsure = "I am not sure, maybe try restarting it?"
        await it.message(it.fast, 2, unsure, role="ai", ai_confidence=0.1)
        await it.detector.start()
        await it.stalled()
        events = await first_while_the_model_waits(it.escalations, it.llm, it.fast, it.slow)
        assert [(e.conversation_id, e.trigger.kind) for e in events] == [
            (it.fast, "confidence"),
            (it.slow, "keyword"),
        ]


async def test_the_consumer_goes_on_with_later_batches_while_the_model_reads_an_earlier_one(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    async with scene(kafka, database, unique, stalling_llm, consumers=1) as it:
        await it.detector.start()
        await it.stall()
        await it.stalled()
        # Later batches of the same partition: the waiting conversation's next message must
        # wait its turn; another conversation's need not.
        await it.message(it.slow, 2, "cancel my subscription")
        await it.message(it.fast, 1, "I want to talk to a human about my refund")
        events = await first_while_the_model_waits(it.escalations, it.llm, it.fast, it.slow)
        # The conversation escalated at its first message; its second, read while the model
        # had the first, came after it (paused: nothing more).
        assert [(e.conversation_id, e.trigger_message_id) for e in events] == [
            (it.fast, f"{it.fast}-1"),
            (it.slow, f"{it.slow}-1"),
        ]


async def test_the_consumer_reads_no_further_than_its_read_ahead_past_the_model(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    """DETECTOR_MODEL_READ_AHEAD: a crash reads again everything past the oldest batch still
    with the model, so the consumer stops there and waits for it."""
    settings = {"DETECTOR_MODEL_READ_AHEAD": "1"}
    async with scene(kafka, database, unique, stalling_llm, consumers=1, **settings) as it:
        third = f"third-{unique}"
        await it.detector.start()
        await it.stall()
        await it.stalled()
        keys = (it.slow.encode(), it.fast.encode(), third.encode())
        # The batch that goes past the read-ahead is handled; the next one waits for the model.
        await it.message(it.fast, 1, "I want to talk to a human about my refund")
        await it.escalations.wait_for_matching(lambda r: r.key == keys[1], count=1, within=60)
        await it.message(third, 1, "I want to talk to a human about my invoice")
        with pytest.raises(TimeoutError):
            await it.escalations.wait_for_matching(lambda r: r.key == keys[2], 1, within=3)
        it.llm.release.set()
        found = await it.escalations.wait_for_matching(lambda r: r.key in keys, 3, within=60)
    assert [r.key for r in found] == [it.fast.encode(), it.slow.encode(), third.encode()]


async def test_a_message_still_with_the_model_when_the_detector_dies_is_read_again(
    kafka: str, database: str, unique: str, stalling_llm: tuple[str, StallingLlm]
) -> None:
    async with scene(kafka, database, unique, stalling_llm, consumers=1) as it:
        slow, fast = it.slow, it.fast
        await it.detector.start()
        await it.stall()
        await it.stalled()
        await it.message(fast, 1, "I want to talk to a human about my refund")
        await it.escalations.wait_for_matching(lambda r: r.key == fast.encode(), 1, within=60)
        # The later batch is handled; its offset would be committed within 100 ms.
        await asyncio.sleep(1.0)
        it.detector.kill()
        it.llm.release.set()
        it.detector = it.new_detector()
        await it.detector.start()
        found = await it.escalations.wait_for_matching(lambda r: r.key == slow.encode(), 1, 90)
    events = [EscalationDetected.model_validate_json(r.value) for r in found]
    assert [(e.conversation_id, e.trigger_message_id) for e in events] == [(slow, f"{slow}-1")]
    # The later batch was read again too: its escalation may come again, the same one.
    keys = (slow.encode(), fast.encode())
    ids = {
        key: {
            EscalationDetected.model_validate_json(record.value).escalation_id
            for record in it.escalations.records
            if record.key == key
        }
        for key in keys
    }
    assert [len(ids[key]) for key in keys] == [1, 1]


async def test_the_broker_gathers_chat_messages_into_fewer_batches(
    kafka: str, database: str, unique: str
) -> None:
    """DETECTOR_BATCH_WAIT_MS: the broker holds the detector's fetch that long, so messages
    sent one by one, each acknowledged before the next, come in far fewer batches than
    messages (an idle consumer without the wait takes each one as it comes)."""
    tenant, agent, conversation, count = f"t-{unique}", f"a-{unique}", f"c-{unique}", 16
    await publish_config(database, tenant, agent, demo_config(idle_timeout_seconds=None))
    detector = ServiceProcess(
        "detector.main",
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "DATABASE_URL": database,
            "DETECTOR_BATCH_WAIT_MS": "300",
            "DETECTOR_JUDGE_USE_MODEL": "false",
        },
        "DETECTOR_PORT",
    )
    batches, judged = "escalator_batch_processing_seconds_count", "escalator_detector_judged_total"
    chat = {"service": "detector", "topic": topics.CHAT_MESSAGES}

    async def send(to: AIOKafkaProducer, number: int) -> None:
        text = f"Question {number} about the sizes, thanks"
        message = chat_message(tenant, agent, conversation, number, text, sent_at=now().isoformat())
        await to.send_and_wait(topics.CHAT_MESSAGES, message, key=conversation.encode())

    async def judged_all(wanted: int) -> bool:
        return await detector.metric(judged) >= wanted

    try:
        await detector.start()
        async with producer(kafka) as to:
            # A first message, judged before counting: the consumer has caught up.
            await send(to, 0)
            await eventually(lambda: judged_all(1))
            before = await detector.metric(batches, chat)
            for number in range(1, count + 1):
                await send(to, number)
                await asyncio.sleep(0.025)  # a trickle: each message on its own
            await eventually(lambda: judged_all(count + 1))
        assert await detector.metric(batches, chat) - before <= count / 2
    finally:
        detector.stop()
