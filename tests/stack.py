"""Services of the pipeline run inside the test process, against the real broker and database."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_runtime.db import create_pool
from escalator_schemas import topics
from escalator_schemas.config import EscalationConfig, Supervisor, TriggerCondition
from queue_api.auth import Role, mint_token
from queue_api.settings import QueueApiSettings

T = TypeVar("T")


def demo_config(**overrides: Any) -> EscalationConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "trigger_conditions": [
            TriggerCondition(
                label="Angry Customer Escalation",
                description="Escalate when user expresses anger, repeated complaint, or asks"
                " immediate human intervention.",
            )
        ],
        "supervisors": [Supervisor(id="alice", name="Alice Doe", email="alice@example.com")],
    }
    return EscalationConfig(**(values | overrides))


async def publish_config(
    database_url: str, tenant_id: str, agent_id: str, config: EscalationConfig
) -> None:
    pool = await create_pool(database_url, 2)
    try:
        await config_store.migrate(pool)
        await config_store.save_draft(pool, tenant_id, agent_id, config, "test")
        await config_store.publish(pool, tenant_id, agent_id, "test")
    finally:
        await pool.close()


@asynccontextmanager
async def running(*apps: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    kafka_producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await kafka_producer.start()
    try:
        yield kafka_producer
    finally:
        await kafka_producer.stop()


def token(settings: QueueApiSettings, sub: str, tenant: str, role: Role = Role.ADMIN) -> str:
    return mint_token(settings, sub, tenant, role, timedelta(minutes=30))


def api_client(app: FastAPI, bearer: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://queue-api", headers=headers
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 30.0, interval: float = 0.1
) -> T:
    """Await ``probe`` until it returns something truthy, or fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


def now() -> datetime:
    return datetime.now(UTC)


class TopicTail:
    """Reads what is appended to a topic from the moment it was opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.records: list[ConsumerRecord[bytes, bytes]] = []

    async def wait_for(
        self, count: int, within: float = 15.0
    ) -> list[ConsumerRecord[bytes, bytes]]:
        async def enough() -> bool:
            batches = await self._consumer.getmany(timeout_ms=200)
            self.records.extend(record for batch in batches.values() for record in batch)
            return len(self.records) >= count

        await eventually(enough, within=within)
        return self.records


@asynccontextmanager
async def tail(bootstrap: str, topic: str) -> AsyncIterator[TopicTail]:
    # One consumer for the whole test: aiokafka can raise CancelledError when a consumer
    # without a group is stopped right after it started (aio-libs/aiokafka#647).
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        spec = next(spec for spec in topics.ALL_TOPICS if spec.name == topic)
        partitions = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        yield TopicTail(consumer)
    finally:
        await consumer.stop()
