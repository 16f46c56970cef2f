"""Webhook deliveries per second from the dispatcher (its own process, default limits: 4
requests in flight per receiver) to one local receiver (its own process), against a raw httpx
POST loop with the same 4 requests in flight to the same receiver, measured in the same run.
Both are timed at the receiver, from the first request to the last."""

import asyncio
import sys
import time
import uuid

import httpx
from tests.stack import eventually, free_port, publish_config
from tests.webhook_dispatcher.harness import detected, enqueue, hook, pool_of, webhooks_config

from bench.common import Row
from bench.stack import services
from escalator_runtime.config_store import new_webhook_secret

IN_FLIGHT = 4  # the dispatcher's default max_in_flight_per_host


async def _stats(client: httpx.AsyncClient) -> dict[str, float]:
    stats: dict[str, float] = (await client.get("/stats")).json()
    return stats


async def _received(client: httpx.AsyncClient, count: int) -> float:
    """Deliveries per second once the receiver has ``count`` requests."""

    async def done() -> dict[str, float] | None:
        stats = await _stats(client)
        return stats if stats["count"] >= count else None

    stats = await eventually(done, within=300, interval=0.1)
    return (stats["count"] - 1) / max(stats["last"] - stats["first"], 1e-6)


async def raw_loop(url: str, bodies: list[bytes]) -> None:
    queue = list(reversed(bodies))

    async def worker() -> None:
        async with httpx.AsyncClient() as http:
            while queue:
                body = queue.pop()
                response = await http.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                response.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def rows(kafka: str, database: str, suffix: str, count: int) -> list[Row]:
    port = free_port()
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.receiver", str(port)
    )
    tenant, agent = f"bench-hooks-{uuid.uuid4().hex[:6]}", "support-bot"
    url = f"http://127.0.0.1:{port}/hooks"
    subscription = hook("crm", url, new_webhook_secret(), ["escalation.detected"])
    events = [detected(tenant, agent, f"c-{n % 50}", n=n) for n in range(count)]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as control:

            async def up() -> bool:
                try:
                    await control.get("/stats")
                except httpx.TransportError:
                    return False
                return True

            await eventually(up, within=30, interval=0.1)
            await raw_loop(url, [event.model_dump_json().encode() for event in events])
            raw = await _received(control, count)
            await control.post("/reset")

            await publish_config(database, tenant, agent, webhooks_config(subscription))
            env = {"WEBHOOK_DISPATCHER_ALLOW_NETWORKS": "127.0.0.1/32"}
            async with (
                services(kafka, database, suffix, ["webhook-dispatcher"], env),
                pool_of(database) as pool,
            ):
                started = time.perf_counter()
                await enqueue(pool, events, [subscription])
                dispatched = await _received(control, count)
                elapsed = time.perf_counter() - started
    finally:
        receiver.terminate()
        await asyncio.wait_for(receiver.wait(), 10)
    return [
        Row(
            f"webhook deliveries, signed, {IN_FLIGHT} in flight ({count:,}; all done in"
            f" {elapsed:.1f} s)",
            dispatched,
            "req/s",
            f"raw httpx POST loop, {IN_FLIGHT} in flight",
            raw,
        )
    ]
