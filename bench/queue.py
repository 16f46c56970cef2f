"""The supervisors' queue under load: 50 supervisors at once, each listing their queue (the
first page, 50 pending escalations of 2,000) and claiming escalations, through queue-api's HTTP
API (its own process, default pool). Baseline, in the same run: the same SQL (queue-api's own
repository and claim transaction) on a raw asyncpg pool of the same size, as many at once."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import UUID

import httpx
from tests.queue_api.support import routed
from tests.stack import token

from bench.common import Row, percentile
from bench.stack import services
from escalator_runtime.db import Pool, create_pool
from queue_api import handlers, lifecycle, repository
from queue_api.auth import Role
from queue_api.repository import Visibility
from queue_api.settings import QueueApiSettings

SUPERVISORS = 50
LISTS = 20  # per supervisor
CLAIMS = 10  # per supervisor, each of its own escalation


async def _timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    """Run each supervisor's calls one after the other, all supervisors at once; ms each."""
    samples: list[float] = []

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)

    async def supervisor(mine: list[Callable[[], Awaitable[Any]]]) -> None:
        for call in mine:
            await one(call)

    per = len(calls) // SUPERVISORS
    await asyncio.gather(*(supervisor(calls[n * per : (n + 1) * per]) for n in range(SUPERVISORS)))
    return samples


async def _list_page(client: httpx.AsyncClient) -> None:
    (await client.get("/escalations", params={"status": "pending"})).raise_for_status()


async def _claim(client: httpx.AsyncClient, escalation_id: UUID) -> None:
    (await client.post(f"/escalations/{escalation_id}/claim")).raise_for_status()


async def _list_rows(pool: Pool, viewer: Visibility) -> None:
    await repository.list_escalations(pool, viewer, {"status": "pending"}, None, 50)


async def rows(kafka: str, database: str, suffix: str) -> list[Row]:
    tenant = f"bench-queue-{uuid.uuid4().hex[:6]}"
    people = [f"sup{n}" for n in range(SUPERVISORS)]
    settings = QueueApiSettings()
    async with services(kafka, database, suffix, ["queue-api"]) as running:
        pool = await create_pool(database, settings.db_pool_max_size)
        try:
            events = [routed(tenant, supervisors=people) for _ in range(2000)]
            async with pool.acquire() as connection, connection.transaction():
                await handlers.store_routed(connection, events)
            ids = [event.escalation_id for event in events]
            api_claims, raw_claims = ids[:1000], ids[1000:]
            clients = [
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{running['queue-api'].port}/api/v1",
                    headers={
                        "Authorization": f"Bearer {token(settings, p, tenant, Role.SUPERVISOR)}"
                    },
                    timeout=60,
                )
                for p in people
            ]
            viewers = [Visibility(tenant, p, admin=False) for p in people]
            try:
                await asyncio.gather(*(c.get("/escalations?limit=1") for c in clients))  # warm
                api_list = await _timed(
                    [partial(_list_page, c) for c in clients for _ in range(LISTS)]
                )
                raw_list = await _timed(
                    [partial(_list_rows, pool, v) for v in viewers for _ in range(LISTS)]
                )
                api_claim = await _timed(
                    [
                        partial(_claim, c, e)
                        for n, c in enumerate(clients)
                        for e in api_claims[n * CLAIMS : (n + 1) * CLAIMS]
                    ]
                )
                raw_claim = await _timed(
                    [
                        partial(lifecycle.claim, pool, v, e)
                        for n, v in enumerate(viewers)
                        for e in raw_claims[n * CLAIMS : (n + 1) * CLAIMS]
                    ]
                )
            finally:
                for client in clients:
                    await client.aclose()
        finally:
            await pool.close()
    label = f"{SUPERVISORS} supervisors at once"
    return [
        Row(
            f"queue list p50, {label}",
            percentile(api_list, 50),
            "ms",
            "same SQL, raw asyncpg",
            percentile(raw_list, 50),
        ),
        Row(
            f"queue list p99, {label}",
            percentile(api_list, 99),
            "ms",
            "same SQL, raw asyncpg",
            percentile(raw_list, 99),
        ),
        Row(
            f"claim p50, {label}",
            percentile(api_claim, 50),
            "ms",
            "same transaction, raw asyncpg",
            percentile(raw_claim, 50),
        ),
        Row(
            f"claim p99, {label}",
            percentile(api_claim, 99),
            "ms",
            "same transaction, raw asyncpg",
            percentile(raw_claim, 99),
        ),
    ]
