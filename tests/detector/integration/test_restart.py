"""Issue 3: the detector's conversation state survives a SIGKILL and a restart on the real
broker and database: no lost turn, no double escalation, resume after a handoff."""

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from escalator_schemas import topics
from escalator_schemas.events import EscalationDetected
from escalator_schemas.ids import event_id_for
from tests.stack import (
    ServiceProcess,
    demo_config,
    eventually,
    now,
    producer,
    publish_config,
    tail,
)

pytestmark = pytest.mark.integration


async def test_state_survives_kill_and_restart(kafka: str, database: str, unique: str) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(max_ai_turns_before_escalation=3, idle_timeout_seconds=None),
    )
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database}
    started = now()
    sent = 0

    def chat(role: str, text: str, message_id: str | None = None) -> bytes:
        nonlocal sent
        sent += 1
        return json.dumps(
            {
                "message_id": message_id or f"{unique}-{sent}",
                "conversation_id": conversation,
                "tenant_id": tenant,
                "agent_id": agent,
                "role": role,
                "text": text,
                "ai_confidence": 0.9 if role == "ai" else None,
                "sent_at": (started + timedelta(seconds=sent)).isoformat(),
            }
        ).encode()

    async def turns_stored() -> int | None:
        connection = await asyncpg.connect(database)
        try:
            state = await connection.fetchval(
                "SELECT state FROM detector_conversations WHERE conversation_id = $1",
                conversation,
            )
        finally:
            await connection.close()
        return json.loads(state)["turns"] if state else None

    detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
    key = conversation.encode()
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        try:
            await detector.start()
            for turn in (1, 2):
                await send.send_and_wait(
                    topics.CHAT_MESSAGES, chat("customer", f"q{turn}"), key=key
                )
                await send.send_and_wait(topics.CHAT_MESSAGES, chat("ai", f"a{turn}"), key=key)
            assert await eventually(lambda: _equals(turns_stored, 2), within=30)

            detector.kill()
            # Sent while no detector runs: nothing may be lost.
            await send.send_and_wait(topics.CHAT_MESSAGES, chat("customer", "q3"), key=key)
            third_ai = f"{unique}-third-ai"
            await send.send_and_wait(topics.CHAT_MESSAGES, chat("ai", "a3", third_ai), key=key)
            detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
            await detector.start()

            mine = await escalations.wait_for_matching(lambda r: r.key == key, count=1, within=60)
            event = EscalationDetected.model_validate_json(mine[0].value)
            assert event.trigger.kind == "turn_limit"
            assert event.trigger_message_id == third_ai
            assert event.turn_count == 3

            # A redelivered message and a keyword while paused change nothing.
            await send.send_and_wait(topics.CHAT_MESSAGES, chat("ai", "a3", third_ai), key=key)
            await send.send_and_wait(
                topics.CHAT_MESSAGES, chat("customer", "talk to a human!"), key=key
            )
            # After the supervisor hands the conversation back, the AI's budget restarts and a
            # keyword escalates again, once.
            resume = {
                "event_id": str(event_id_for(event.escalation_id, "chat.handoff", "resume_ai")),
                "event_type": "chat.handoff",
                "occurred_at": now().isoformat(),
                "tenant_id": tenant,
                "agent_id": agent,
                "environment": "published",
                "escalation_id": str(event.escalation_id),
                "conversation_id": conversation,
                "kind": "resume_ai",
            }
            await send.send_and_wait(topics.CHAT_HANDOFFS, json.dumps(resume).encode(), key=key)
            assert await eventually(lambda: _equals(turns_stored, 0), within=30)
            await send.send_and_wait(
                topics.CHAT_MESSAGES, chat("customer", "cancel my subscription"), key=key
            )
            mine = await escalations.wait_for_matching(lambda r: r.key == key, count=2, within=30)
            second = EscalationDetected.model_validate_json(mine[1].value)
            assert second.trigger.kind == "keyword"
            assert second.escalation_id != event.escalation_id
            # Absence can only be shown by waiting: read what else arrives for a while.
            await escalations.drain(seconds=3)
            assert len([r for r in escalations.records if r.key == key]) == 2
        finally:
            detector.stop()


async def _equals(probe: Callable[[], Awaitable[int | None]], expected: int) -> bool:
    return await probe() == expected


async def test_the_idle_timer_fires_after_a_restart(kafka: str, database: str, unique: str) -> None:
    """A customer left without a reply escalates once the idle timeout has passed, although the
    detector that saw the message was killed before the deadline: the deadline lives in
    PostgreSQL, the timer in whichever detector runs."""
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    timeout = 30
    await publish_config(database, tenant, agent, demo_config(idle_timeout_seconds=timeout))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database,
        "DETECTOR_IDLE_SWEEP_SECONDS": "0.2",
    }
    message = {
        "message_id": f"{unique}-waiting",
        "conversation_id": conversation,
        "tenant_id": tenant,
        "agent_id": agent,
        "role": "customer",
        "text": "Which sizes does the blue jacket come in?",
    }

    async def deadline_stored() -> bool:
        connection = await asyncpg.connect(database)
        try:
            return bool(
                await connection.fetchval(
                    "SELECT idle_deadline IS NOT NULL FROM detector_conversations"
                    " WHERE conversation_id = $1",
                    conversation,
                )
            )
        finally:
            await connection.close()

    detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
    key = conversation.encode()
    async with tail(kafka, topics.ESCALATIONS_DETECTED) as escalations, producer(kafka) as send:
        try:
            await detector.start()
            # Sent (by its timestamp) long enough ago that the deadline is seconds away.
            sent_at = now() - timedelta(seconds=timeout - 8)
            message["sent_at"] = sent_at.isoformat()
            await send.send_and_wait(topics.CHAT_MESSAGES, json.dumps(message).encode(), key=key)
            assert await eventually(deadline_stored, within=6, interval=0.1)
            detector.kill()
            assert now() < sent_at + timedelta(seconds=timeout), "killed after the deadline"
            detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
            await detector.start()
            mine = await escalations.wait_for_matching(lambda r: r.key == key, count=1, within=60)
            event = EscalationDetected.model_validate_json(mine[0].value)
            assert event.trigger.kind == "idle"
            assert event.trigger_message_id == message["message_id"]
            await escalations.drain(seconds=2)
            assert len([r for r in escalations.records if r.key == key]) == 1
        finally:
            detector.stop()
