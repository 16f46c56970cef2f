"""Driving the notifier in tests: its settings, events on its topics, its outbox."""

from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer

from escalator_schemas import topics
from escalator_schemas.events import EscalationRouted, EventEnvelope
from notifier.settings import NotifierSettings
from tests.notifier.smtp import Received
from tests.stack import ARTIFACTS, eventually

PUBLIC_URL = "http://ui.escalator.test"


def notifier_settings(
    kafka: str, database: str, smtp_port: int, **overrides: Any
) -> NotifierSettings:
    """Fast retries and polls, so recovery shows within seconds."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka,
        "database_url": database,
        "smtp_port": smtp_port,
        "smtp_timeout_seconds": 2.0,
        "lease_seconds": 10.0,
        "retry_base_seconds": 0.2,
        "retry_max_seconds": 1.0,
        "poll_seconds": 0.2,
        "public_url": PUBLIC_URL,
        "sender_address": "escalations@escalator.test",
    }
    return NotifierSettings(**(values | overrides))


def settings_env(settings: NotifierSettings) -> dict[str, str]:
    """The same settings as environment variables, for a notifier in its own process."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url,
    }
    for name in (
        "smtp_port",
        "smtp_timeout_seconds",
        "lease_seconds",
        "retry_base_seconds",
        "retry_max_seconds",
        "poll_seconds",
        "public_url",
        "sender_address",
        "smtp_connections",
        "send_batch",
    ):
        env[f"NOTIFIER_{name.upper()}"] = str(getattr(settings, name))
    return env


async def publish(producer: AIOKafkaProducer, topic: str, *events: EventEnvelope) -> None:
    for event in events:
        await producer.send_and_wait(
            topic, event.model_dump_json().encode(), key=event.conversation_id.encode()
        )


async def publish_routed(producer: AIOKafkaProducer, *events: EscalationRouted) -> None:
    await publish(producer, topics.ESCALATIONS_ROUTED, *events)


async def outbox(database: str, escalation_id: UUID) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch(
            "SELECT * FROM notifier_emails WHERE escalation_id = $1 ORDER BY id", escalation_id
        )
    finally:
        await connection.close()
    return [dict(row) for row in rows]


async def escalation_known(database: str, escalation_id: UUID) -> bool:
    connection = await asyncpg.connect(database)
    try:
        return bool(
            await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM notifier_escalations WHERE escalation_id = $1)",
                escalation_id,
            )
        )
    finally:
        await connection.close()


def keep(name: str, messages: list[Received]) -> Path:
    """Write what the server received to tests/artifacts, for people to look at."""
    folder = ARTIFACTS / "notifier-emails" / name
    folder.mkdir(parents=True, exist_ok=True)
    for number, message in enumerate(messages, start=1):
        (folder / f"{number:02d}-{message.kind}.eml").write_bytes(message.raw)
    return folder


async def settled(database: str, escalation_id: UUID, count: int) -> list[dict[str, Any]]:
    """The escalation's outbox rows once ``count`` of them exist and none is pending: the
    server may have an email a moment before the outbox records it."""

    async def probe() -> list[dict[str, Any]] | None:
        rows = await outbox(database, escalation_id)
        done = len(rows) >= count and all(row["status"] != "pending" for row in rows)
        return rows if done else None

    return await eventually(probe, within=30)
