"""How many deliveries per second the dispatcher (its own process, default limits) gets to fast
local receivers: from Kafka to one endpoint, and from the queue to eight. Printed, never
asserted on: the figure depends on the machine."""

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from escalator_runtime.config_store import new_webhook_secret
from escalator_runtime.db import Pool
from escalator_schemas import topics
from tests.stack import ServiceProcess, eventually, producer, publish_config
from tests.webhook_dispatcher.harness import (
    Receiver,
    detected,
    enqueue,
    hook,
    pool_of,
    receiving,
    webhooks_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

Report = Callable[[str], None]


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Report:
    """Write a line to the terminal even when output is captured."""

    def write(line: str) -> None:
        with capsys.disabled():
            sys.stdout.write(line + "\n")

    return write


@asynccontextmanager
async def dispatcher_process(kafka: str, database: str) -> AsyncIterator[ServiceProcess]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database,
        "WEBHOOK_DISPATCHER_ALLOW_NETWORKS": "127.0.0.1/32",
        "LOG_LEVEL": "WARNING",
    }
    process = ServiceProcess("webhook_dispatcher.main", env, "WEBHOOK_DISPATCHER_PORT")
    try:
        await process.start()
        yield process
    finally:
        process.stop()


def cpu_seconds(process: ServiceProcess) -> float:
    """CPU time the process used so far (Linux), 0.0 where /proc is missing."""
    assert process.process is not None
    stat = Path(f"/proc/{process.process.pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def all_succeeded(pool: Pool, tenant: str, expected: int, within: float) -> None:
    async def done() -> bool:
        count = await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'succeeded'",
            tenant,
        )
        return bool(count == expected)

    await eventually(done, within=within, interval=0.05)


async def test_throughput_from_kafka_to_one_endpoint(
    kafka: str, database: str, unique: str, report: Report
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    events = [detected(tenant, agent, f"c-{unique}-{n % 50}", n=n) for n in range(1000)]
    async with receiving() as receiver, pool_of(database) as pool, producer(kafka) as send:
        subscription = hook("crm", receiver.url, new_webhook_secret(), ["escalation.detected"])
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        async with dispatcher_process(kafka, database) as dispatcher:
            cpu = cpu_seconds(dispatcher)
            started = time.perf_counter()
            sent = [
                await send.send(
                    topics.ESCALATIONS_DETECTED,
                    event.model_dump_json().encode(),
                    key=event.conversation_id.encode(),
                )
                for event in events
            ]
            await asyncio.gather(*sent)
            await all_succeeded(pool, tenant, len(events), within=180)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(dispatcher) - cpu

    assert sorted(receiver.ids()) == sorted(str(event.event_id) for event in events)
    assert receiver.most_active <= 4
    report(
        f"\nwebhooks, Kafka -> 1 endpoint (4 in flight): {len(events)} deliveries in"
        f" {elapsed:.2f} s = {len(events) / elapsed:.0f} deliveries/s;"
        f" dispatcher CPU {cpu * 1000 / len(events):.2f} ms per delivery"
    )


async def test_throughput_from_the_queue_to_eight_endpoints(
    kafka: str, database: str, unique: str, report: Report
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    events = [detected(tenant, agent, f"c-{unique}", n=n) for n in range(250)]
    async with AsyncExitStack() as stack:
        receivers: list[Receiver] = [await stack.enter_async_context(receiving()) for _ in range(8)]
        pool = await stack.enter_async_context(pool_of(database))
        subscriptions = [
            hook(f"hook-{i}", receiver.url, new_webhook_secret())
            for i, receiver in enumerate(receivers)
        ]
        await publish_config(database, tenant, agent, webhooks_config(*subscriptions))
        dispatcher = await stack.enter_async_context(dispatcher_process(kafka, database))
        cpu = cpu_seconds(dispatcher)
        started = time.perf_counter()
        await enqueue(pool, events, subscriptions)
        await all_succeeded(pool, tenant, len(events) * len(subscriptions), within=180)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(dispatcher) - cpu

    total = len(events) * len(subscriptions)
    for receiver in receivers:
        assert len(receiver.requests) == len(events)
        assert receiver.most_active <= 4
    report(
        f"\nwebhooks, queue -> 8 endpoints (32 in flight): {total} deliveries in"
        f" {elapsed:.2f} s = {total / elapsed:.0f} deliveries/s;"
        f" dispatcher CPU {cpu * 1000 / total:.2f} ms per delivery"
    )
