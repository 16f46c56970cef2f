"""Issue 3: the chat.messages handler keeps conversation states in memory between batches and
saves them only if nobody else wrote them since (real PostgreSQL). A write by the idle timer, a
resume or another instance makes it read the state again and decide anew before anything is
published; a replay of a batch whose publishing failed publishes the same events again."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY

from detector import repository
from detector.engine import Inbound, evaluate_batch
from detector.handlers import ChatMessages, decide, decide_in_parts
from detector.language import Judgement, Judging, Utterance
from detector.policy import resume
from detector.state import ConversationKey, ConversationState
from detector.store import StateStore
from detector.waits import ModelWaits
from escalator_runtime import commits
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Pool, apply_migrations, create_pool
from escalator_runtime.kafka import make_broker
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import AgentConfigVersion, EscalationConfig
from tests.detector.unit.test_policy import ScriptedJudge
from tests.stack import eventually, tail

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG = AgentConfigVersion(
    tenant_id="t",
    agent_id="a",
    version=1,
    config=EscalationConfig(enabled=True, idle_timeout_seconds=None),
)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database, 3)
    await apply_migrations(pool, "detector", "detector.migrations")
    try:
        yield pool
    finally:
        await pool.close()


class Chat:
    def __init__(self, conversation: str) -> None:
        self.conversation = conversation
        self.key = ConversationKey("t", "a", "published", conversation)
        self.count = 0

    def message(self, role: str, text: str) -> Inbound:
        self.count += 1
        message = ChatMessage(
            message_id=f"{self.conversation}-{self.count}",
            conversation_id=self.conversation,
            tenant_id="t",
            agent_id="a",
            role=role,
            text=text,
            sent_at=START + timedelta(seconds=self.count),
            ai_confidence=0.9 if role == "ai" else None,
        )
        return Inbound(message, CONFIG)


def stale_states() -> float:
    return REGISTRY.get_sample_value("escalator_detector_stale_states_total") or 0.0


async def stored(pool: Pool, key: ConversationKey) -> tuple[int, ConversationState]:
    async with pool.acquire() as connection:
        return (await repository.read_states(connection, [key]))[key]


async def test_a_cached_state_is_saved_in_one_statement_and_its_version_moves(
    pool: Pool, unique: str
) -> None:
    store, judge, chat = StateStore(pool, 100), ScriptedJudge(), Chat(f"c-{unique}")
    await decide(store, [chat.message("customer", "hello")], judge)
    assert (await stored(pool, chat.key))[0] == 1
    await decide(store, [chat.message("ai", "Hi! How can I help?")], judge)
    version, state = await stored(pool, chat.key)
    assert (version, state.turns) == (2, 1)


async def test_a_state_the_idle_timer_changed_is_read_again_before_deciding(
    pool: Pool, unique: str
) -> None:
    """The timer escalated the conversation (AI paused) after this instance cached it: a
    keyword now must not escalate a second time, as it would from the cached state."""
    store, judge, chat = StateStore(pool, 100), ScriptedJudge(), Chat(f"c-{unique}")
    await decide(store, [chat.message("customer", "where is my parcel?")], judge)
    async with pool.acquire() as connection, connection.transaction():
        states = await repository.lock_states(connection, [chat.key])
        states[chat.key].paused = True  # what an idle escalation leaves
        await repository.save_states(connection, states)

    outcome = await decide(store, [chat.message("customer", "talk to a human now")], judge)
    assert outcome.detected == []
    version, state = await stored(pool, chat.key)
    assert (version, state.paused, len(state.recent_ids)) == (3, True, 2)


async def test_a_state_resumed_elsewhere_counts_turns_again(pool: Pool, unique: str) -> None:
    """A resume written by another instance un-pauses what this one still holds as paused."""
    store, judge, chat = StateStore(pool, 100), ScriptedJudge(), Chat(f"c-{unique}")
    [escalation] = (
        await decide(store, [chat.message("customer", "talk to a human")], judge)
    ).detected
    async with pool.acquire() as connection, connection.transaction():
        states = await repository.lock_states(connection, [chat.key])
        resume(states[chat.key])
        await repository.save_states(connection, states)

    outcome = await decide(store, [chat.message("customer", "talk to a human again")], judge)
    [again] = outcome.detected
    assert again.escalation_id != escalation.escalation_id


async def test_two_instances_deciding_one_conversation_apply_each_message_once(
    pool: Pool, unique: str
) -> None:
    """After a rebalance the old owner still holds the state; the new one moved it on."""
    judge, chat = ScriptedJudge(), Chat(f"c-{unique}")
    old, new = StateStore(pool, 100), StateStore(pool, 100)
    await decide(old, [chat.message("customer", "hi")], judge)
    await decide(new, [chat.message("ai", "Hello!")], judge)
    late = chat.message("customer", "refund please")
    [first] = (await decide(new, [late], judge)).detected
    # The old owner, a zombie, handles the same record from its stale state: it reads the
    # stored state, sees the message applied, and yields the event the new owner decided.
    replayed = await decide(old, [late], judge)
    assert [e.escalation_id for e in replayed.detected] == [first.escalation_id]
    version, state = await stored(pool, chat.key)
    assert (version, state.total_turns, state.recent_ids.count(late.message.message_id)) == (
        4,
        1,
        1,
    )


async def test_a_new_conversation_stored_by_another_instance_is_not_overwritten(
    pool: Pool, unique: str
) -> None:
    judge, chat = ScriptedJudge(), Chat(f"c-{unique}")
    first, second = StateStore(pool, 100), StateStore(pool, 100)
    # Both find no stored state, then each applies a message of its own.
    mine, theirs = await first.load([chat.key]), await second.load([chat.key])
    await evaluate_batch([chat.message("customer", "hi")], mine, judge)
    await evaluate_batch([chat.message("customer", "hello?")], theirs, judge)
    assert await first.save(mine) == set()
    assert await second.save(theirs) == {chat.key}
    version, state = await stored(pool, chat.key)
    assert (version, state.recent_ids) == (1, [f"c-{unique}-1"])


async def test_a_replay_after_a_failed_publish_yields_the_same_events(
    pool: Pool, unique: str
) -> None:
    store, judge, chat = StateStore(pool, 100), ScriptedJudge(), Chat(f"c-{unique}")
    batch = [chat.message("customer", "I want a refund"), chat.message("customer", "now!")]
    decided = await decide(store, batch, judge)
    assert decided.detected
    # Publishing failed: the batch is handled again, by this instance or, after a restart,
    # by one that reads the state from the database.
    for again in (store, StateStore(pool, 100)):
        replay = await decide(again, batch, judge)
        assert (replay.detected, replay.handoffs) == (decided.detected, decided.handoffs)
        assert replay.duplicates == 2


async def test_a_redelivery_once_the_events_are_out_yields_nothing(pool: Pool, unique: str) -> None:
    store, judge, chat = StateStore(pool, 100), ScriptedJudge(), Chat(f"c-{unique}")
    message = chat.message("customer", "I want a refund")
    decided = await decide(store, [message], judge)
    store.published([chat.key])
    replay = await decide(store, [message], judge)
    assert decided.detected
    assert (replay.detected, replay.handoffs, replay.duplicates) == ([], [], 1)


async def test_the_cache_keeps_the_most_recently_used_states(pool: Pool, unique: str) -> None:
    store, judge = StateStore(pool, 2), ScriptedJudge()
    chats = [Chat(f"c-{unique}-{n}") for n in range(3)]
    for chat in chats:
        await decide(store, [chat.message("customer", "hi")], judge)
    async with pool.acquire() as connection:
        await connection.execute("UPDATE detector_conversations SET version = version + 10")
    # The two most recent are held, stale: their save finds it and they are read again. The
    # oldest was dropped and is read from the database. Every state ends where it should.
    before = stale_states()
    for chat in reversed(chats):
        await decide(store, [chat.message("ai", "Hello!")], judge)
    assert stale_states() - before == 2
    for chat in chats:
        version, state = await stored(pool, chat.key)
        assert (version, state.turns) == (12, 1)


class ModelWaitingJudge(ScriptedJudge):
    """Settles every message at once but those marked "[model]", which wait for ``release``
    (a model's answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    def start(self, utterances: Sequence[Utterance]) -> Judging:
        ready = [None if "[model]" in u.text else self._one(u) for u in utterances]

        async def finish() -> list[Judgement]:
            await self.release.wait()
            return [self._one(u) for u in utterances]

        return Judging(ready, finish)


async def test_conversations_the_cues_settle_are_saved_and_handed_on_before_the_model_answers(
    pool: Pool, unique: str
) -> None:
    store, judge = StateStore(pool, 100), ModelWaitingJudge()
    waiting, quick = Chat(f"w-{unique}"), Chat(f"q-{unique}")
    batch = [
        waiting.message("customer", "the zip broke again [model] [angry]"),
        quick.message("customer", "talk to a human"),
    ]
    parts = decide_in_parts(store, batch, judge)
    first, rest = await anext(parts)
    assert [e.conversation_id for e in first.detected] == [quick.conversation]
    assert rest == {waiting.key}
    assert (await stored(pool, quick.key))[0] == 1
    async with pool.acquire() as connection:
        assert await repository.read_states(connection, [waiting.key]) == {}

    judge.release.set()
    second, rest = await anext(parts)
    assert [(e.conversation_id, e.trigger.kind) for e in second.detected] == [
        (waiting.conversation, "sentiment")
    ]
    assert rest == set()
    assert (await stored(pool, waiting.key))[0] == 1
    with pytest.raises(StopAsyncIteration):
        await anext(parts)


class FailingAfterTheModel(ModelWaitingJudge):
    """Answers at once, but the model's part fails: once with a lost connection, and for
    ever for a message marked "[poison]"."""

    def __init__(self) -> None:
        super().__init__()
        self.release.set()
        self.outages = 1

    def start(self, utterances: Sequence[Utterance]) -> Judging:
        judging = super().start(utterances)

        async def finish() -> list[Judgement]:
            if self.outages:
                self.outages -= 1
                raise ConnectionResetError("the model's host went away")
            if any("[poison]" in u.text for u in utterances):
                raise ValueError("this message breaks the model")
            return await judging.finish()

        return Judging(judging.ready, finish)


class OneConfig:
    """A ``ConfigView`` with one agent's configuration."""

    async def settled(self) -> None:
        return None

    def get(self, *_: object) -> AgentConfigVersion:
        return CONFIG


async def test_what_fails_after_the_model_is_decided_again_or_dead_lettered(
    pool: Pool, kafka: str, unique: str
) -> None:
    good, bad, quick = Chat(f"g-{unique}"), Chat(f"b-{unique}"), Chat(f"q-{unique}")
    batch = [
        good.message("customer", "the zip broke again [model] [angry]"),
        bad.message("customer", "it broke [model] [poison] [angry]"),
        quick.message("customer", "talk to a human"),
    ]
    records = tuple(
        ConsumerRecord(
            topic=topics.CHAT_MESSAGES,
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=item.message.conversation_id.encode(),
            value=item.message.model_dump_json().encode(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=[],
        )
        for offset, item in enumerate(batch)
    )
    broker = make_broker(ServiceSettings(kafka_bootstrap_servers=kafka), "detector")
    await broker.connect()
    mine = {chat.conversation.encode() for chat in (good, bad, quick)}
    try:
        async with (
            tail(kafka, topics.ESCALATIONS_DETECTED) as escalations,
            tail(kafka, topics.dlq(topics.CHAT_MESSAGES)) as dead,
        ):
            handler = ChatMessages(
                broker,
                StateStore(pool, 100),
                cast(ConfigView, OneConfig()),
                FailingAfterTheModel(),
                ModelWaits(read_ahead=1_000),
            )
            await handler(records)
            assert len(handler.waits) == 1  # the model's part, still to come
            assert TopicPartition(topics.CHAT_MESSAGES, 0) in commits._HELD
            escalated = await escalations.wait_for_matching(lambda r: r.key in mine, 2, 30)
            poisoned = await dead.wait_for_matching(lambda r: r.key in mine, 1, 30)
            await eventually(lambda: asyncio.sleep(0, not handler.waits), within=30)
    finally:
        await broker.stop()
    assert [r.key for r in escalated] == [quick.conversation.encode(), good.conversation.encode()]
    assert [r.key for r in poisoned] == [bad.conversation.encode()]
    reason = dict(poisoned[0].headers)["x-error"].decode()
    assert reason.startswith("failed 3 times: ValueError: this message breaks the model"), reason
    assert TopicPartition(topics.CHAT_MESSAGES, 0) not in commits._HELD
