"""Services of the pipeline run inside the test process, against the real broker and database."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from escalator_runtime import config_store
from escalator_runtime.db import create_pool
from escalator_runtime.service import server_config
from escalator_schemas import topics
from escalator_schemas.config import EscalationConfig, Supervisor, TriggerCondition
from queue_api.auth import Role, mint_token
from queue_api.settings import QueueApiSettings

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


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


async def new_topic(bootstrap: str, prefix: str, partitions: int = 1) -> str:
    """A topic of its own for a test: ``prefix`` and a random suffix."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    return topic


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

    async def wait_for_matching(
        self,
        predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
        count: int,
        within: float = 20.0,
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """The records so far that satisfy ``predicate``, once there are ``count`` of them."""

        async def enough() -> list[ConsumerRecord[bytes, bytes]] | None:
            batches = await self._consumer.getmany(timeout_ms=200)
            self.records.extend(record for batch in batches.values() for record in batch)
            matching = [record for record in self.records if predicate(record)]
            return matching if len(matching) >= count else None

        return await eventually(enough, within=within)

    async def drain(self, seconds: float) -> None:
        """Keep reading for ``seconds`` (to show that nothing more arrives)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            batches = await self._consumer.getmany(timeout_ms=200)
            self.records.extend(record for batch in batches.values() for record in batch)


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


@contextmanager
def serving_in_thread(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread of its own (for a test's fake remote
    service, which must answer while the test's event loop waits); yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """A service running as its own process, as in production, so a test can SIGKILL it."""

    def __init__(self, module: str, env: dict[str, str], port_variable: str) -> None:
        self.module = module
        self.port = free_port()
        self.env = os.environ | env | {port_variable: str(self.port), "LOG_JSON": "true"}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ARTIFACTS / f"{module}-{self.port}.log"

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready (``start`` waits)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=log
            )

    def check_running(self) -> None:
        """Raise if the spawned process has exited (a probe would otherwise wait it out)."""
        assert self.process is not None, "not spawned"
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.module} exited: see {self.log}")

    async def start(self, within: float = 60.0) -> None:
        self.spawn()

        async def ready() -> bool:
            self.check_running()
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        await eventually(ready, within=within, interval=0.2)

    async def metric(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> float:
        """The sum of the samples ``name`` that have ``labels`` on the process's ``/metrics``
        (0 before there are any); ``client`` for one who asks often."""
        if client is None:
            async with httpx.AsyncClient() as fresh:
                return await self.metric(name, labels, fresh)
        response = await client.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2)
        wanted = (labels or {}).items()
        return sum(
            sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name == name and wanted <= sample.labels.items()
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no offset commit, no goodbye to the consumer group."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@asynccontextmanager
async def serve(app: FastAPI, *, lifespan: bool = True) -> AsyncIterator[str]:
    """``app`` on a real uvicorn server on a free port; yields host:port. ``lifespan=False``
    for an app whose lifespan already runs."""
    port = free_port()
    server = uvicorn.Server(
        server_config(app, "127.0.0.1", port, lifespan="on" if lifespan else "off")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, within=60.0, interval=0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30.0)
