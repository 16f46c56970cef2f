"""Builds a service's ASGI app: a lifespan that owns the broker, the pool and what the service
adds, and the operational routes. Every service's ``main.py`` is a few lines on top of this."""

import gc
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from escalator_runtime import commits
from escalator_runtime.db import Pool, create_pool
from escalator_runtime.health import add_operational_routes, broker_check, database_check
from escalator_runtime.kafka import GRACE_SECONDS, make_broker, start_broker
from escalator_runtime.logging import configure_logging
from escalator_runtime.metrics import consumer_lag
from escalator_runtime.settings import ServiceSettings
from escalator_runtime.telemetry import configure_tracing, instrument_app

log = structlog.get_logger(__name__)


@dataclass
class ServiceContext:
    """What a service's set-up receives: shared resources, and a stack for its own clean-up."""

    name: str
    settings: ServiceSettings
    app: FastAPI
    broker: KafkaBroker
    pool: Pool
    cleanup: AsyncExitStack
    extras: dict[str, Any] = field(default_factory=dict)
    stopping: AsyncExitStack = field(default_factory=AsyncExitStack)
    """Run on shutdown before the last offsets are committed and the broker stops: for work
    a handler left running (it may still publish)."""


Setup = Callable[[ServiceContext], Awaitable[None]]


def settle_garbage_collector(gen0_threshold: int) -> None:
    """Once start-up has built what lives as long as the process, freeze it out of the cyclic
    collector (it would walk it on every full collection) and collect the young generation
    less often: a consumer allocates a few hundred short-lived objects per message, and with
    Python's default (every 700 allocations) it spent 10-20 % of the detector's decision loop
    collecting. Reference counting still frees almost everything at once; only cycles wait."""
    if gen0_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


def create_service_app(
    name: str, settings: ServiceSettings, setup: Setup, app: FastAPI | None = None
) -> FastAPI:
    """``setup`` registers subscribers, applies migrations and starts background work; the
    broker starts consuming only after it returns, and stops first on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(
            name, settings.log_level, settings.log_json, message_texts=settings.log_message_text
        )
        configure_tracing(name)
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings.database_url, settings.db_pool_max_size)
            stack.push_async_callback(pool.close)
            broker = make_broker(settings, name)
            context = ServiceContext(name, settings, app, broker, pool, AsyncExitStack())
            stack.push_async_callback(context.cleanup.aclose)
            await setup(context)
            settle_garbage_collector(settings.gc_gen0_threshold)
            await start_broker(broker)
            stack.push_async_callback(broker.stop)
            stack.push_async_callback(commits.commit_all)  # before the consumers stop
            stack.push_async_callback(context.stopping.aclose)
            await stack.enter_async_context(consumer_lag(broker, name))
            app.state.context = context
            app.state.readiness = {
                "kafka": broker_check(broker),
                "postgres": database_check(pool),
            }
            log.info("service started", port=settings.port)
            yield
            log.info("service stopping")

    if app is None:
        app = FastAPI(title=f"Escalator {name}", lifespan=lifespan)
    else:
        app.router.lifespan_context = lifespan
    add_operational_routes(app, name)
    instrument_app(app)
    return app


def server_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How a service's app is served (the tests serve theirs the same way).

    WebSocket messages are not compressed (no ``permessage-deflate``): the realtime queue pushes
    each change, ~1 KB of JSON, to every supervisor who may see it, and compressing it once per
    connection, each in its own zlib context, made a push to 50 supervisors take ~5 ms of the
    process's time instead of ~2 (``make bench``, publish→WebSocket p50 25.7 → 22.3 ms)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        ws_per_message_deflate=False,
        **options,
    )


def run(app: FastAPI, settings: ServiceSettings) -> None:
    server = uvicorn.Server(server_config(app, settings.host, settings.port))
    server.run()
    if not server.started:
        sys.exit(3)  # what ``uvicorn.run`` exits with when the app failed to start
