"""A demo chat backend: publishes the demo agent's configuration, then plays a scripted customer
conversation into ``chat.messages`` every ``DEMO_INTERVAL_SECONDS`` (0: once), so the queue
fills up the way it would in production.

Run by ``make run``; stop it with ``make down``.
"""

import asyncio
import contextlib
import json
import os
import signal
import uuid
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from escalator_runtime import config_store
from escalator_runtime.db import create_pool
from escalator_runtime.logging import configure_logging
from escalator_schemas import topics
from escalator_schemas.config import EscalationConfig, Supervisor, TriggerCondition

TENANT = os.environ.get("DEMO_TENANT", "demo")
AGENT = os.environ.get("DEMO_AGENT", "support-bot")
log = structlog.get_logger("demo-agent")

DEMO_CONFIG = EscalationConfig(
    enabled=True,
    trigger_conditions=[
        TriggerCondition(
            label="Angry Customer Escalation",
            description="Escalate when user expresses anger, repeated complaint, or asks"
            " immediate human intervention.",
        )
    ],
    escalation_response=(
        "I understand this issue is urgent. I have escalated your conversation to a human"
        " supervisor, and they will continue from here as soon as possible."
    ),
    supervisors=[
        Supervisor(id="alice", name="Alice Moreau", email="alice@demo.example"),
        Supervisor(
            id="bob", name="Bob Okafor", email="bob@demo.example", topics=["billing", "refund"]
        ),
    ],
)

SCRIPTS: list[list[tuple[str, str, float | None]]] = [
    [
        ("customer", "Hi, my order #4417 arrived with a cracked screen.", None),
        ("ai", "I'm sorry to hear that! Could you send a photo of the damage?", 0.92),
        ("customer", "I already sent photos twice. This is ridiculous, I want a refund NOW.", None),
    ],
    [
        ("customer", "Do you ship to Canada?", None),
        ("ai", "Yes, we ship to Canada in 5-7 business days.", 0.97),
        ("customer", "Great, thanks!", None),
    ],
]


async def ensure_demo_config(database_url: str) -> None:
    pool = await create_pool(database_url, 2)
    try:
        await config_store.migrate(pool)
        current = await config_store.load(pool, TENANT, AGENT, "published")
        if current is None:
            await config_store.save_draft(pool, TENANT, AGENT, DEMO_CONFIG, "demo-agent")
            await config_store.publish(pool, TENANT, AGENT, "demo-agent")
            log.info("demo agent configured", tenant_id=TENANT, agent_id=AGENT)
    finally:
        await pool.close()


async def play(producer: AIOKafkaProducer, script: list[tuple[str, str, float | None]]) -> None:
    conversation = f"demo-{uuid.uuid4().hex[:8]}"
    for role, text, confidence in script:
        message = {
            "message_id": uuid.uuid4().hex,
            "conversation_id": conversation,
            "tenant_id": TENANT,
            "agent_id": AGENT,
            "role": role,
            "text": text,
            "sent_at": datetime.now(UTC).isoformat(),
            "ai_confidence": confidence,
            "customer": {"id": "cus-demo", "name": "Dana Reyes", "email": "dana@example.com"},
        }
        await producer.send_and_wait(
            topics.CHAT_MESSAGES, json.dumps(message).encode(), key=conversation.encode()
        )
        await asyncio.sleep(0.5)
    log.info("demo conversation published", conversation_id=conversation)


async def main() -> None:
    configure_logging("demo-agent")
    database_url = os.environ["DATABASE_URL"]
    interval = float(os.environ.get("DEMO_INTERVAL_SECONDS", "60"))
    for attempt in range(30):
        try:
            await ensure_demo_config(database_url)
            break
        except (OSError, asyncpg.PostgresError):
            log.warning("database not ready", attempt=attempt)
            await asyncio.sleep(1)
    producer = AIOKafkaProducer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        round_ = 0
        while not stop.is_set():
            await play(producer, SCRIPTS[round_ % len(SCRIPTS)])
            round_ += 1
            if interval <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
