"""``/healthz`` (alive), ``/readyz`` (broker and database reachable) and ``/metrics``."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from escalator_runtime.db import Pool

Check = Callable[[], Awaitable[bool]]


def broker_check(broker: KafkaBroker) -> Check:
    async def check() -> bool:
        return bool(await broker.ping(timeout=2.0))

    return check


def database_check(pool: Pool) -> Check:
    async def check() -> bool:
        return bool(await pool.fetchval("SELECT 1", timeout=2.0) == 1)

    return check


async def _run(check: Check) -> bool:
    try:
        async with asyncio.timeout(3.0):
            return await check()
    except Exception:
        return False


def add_operational_routes(app: FastAPI, service: str) -> None:
    """Readiness checks are read from ``app.state.readiness`` (name -> check) at request time,
    so the lifespan can install them once the broker and pool exist."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks: Mapping[str, Check] = getattr(app.state, "readiness", {})
        results = dict(
            zip(checks, await asyncio.gather(*(_run(c) for c in checks.values())), strict=True)
        )
        ready = bool(checks) and all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": service, "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
