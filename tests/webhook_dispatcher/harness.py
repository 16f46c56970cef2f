"""Real HTTP receivers on 127.0.0.1, escalation events, and the dispatcher on the real broker
and database, for the webhook tests."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from escalator_runtime.db import Pool, create_pool
from escalator_schemas.config import EscalationConfig, WebhookSubscription
from escalator_schemas.events import (
    ESCALATION_EVENT_TYPES,
    EscalationClaimed,
    EscalationCompleted,
    EscalationDetected,
    EscalationReassignedToAI,
    EscalationReleased,
    EscalationRouted,
    EscalationSlaBreached,
    EventEnvelope,
    envelope_fields,
)
from escalator_schemas.ids import event_id_for
from tests.stack import eventually, free_port, now, running
from webhook_dispatcher import repository
from webhook_dispatcher.main import create_app
from webhook_dispatcher.repository import NewDelivery
from webhook_dispatcher.service import endpoint_host
from webhook_dispatcher.settings import WebhookDispatcherSettings

# --- receivers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Behaviour = Callable[[int, Received], Awaitable[Response]]


def answers(*statuses: int, then: int = 204) -> Behaviour:
    """Answer ``statuses`` in turn, then ``then`` for ever."""

    async def behaviour(index: int, _request: Received) -> Response:
        status = statuses[index] if index < len(statuses) else then
        text = "" if status in (204, 304) else f"answer {index + 1}: {status}"
        return Response(text, status_code=status, media_type="text/plain")

    return behaviour


@dataclass
class Receiver:
    """An HTTP server that records every request and answers as ``behaviour`` says."""

    behaviour: Behaviour = field(default_factory=answers)
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    active: int = 0
    most_active: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def hang(self) -> Response:
        """Answer only once the test releases the receiver (or never, if the caller gave up)."""
        await self.release.wait()
        return Response("late", status_code=200)

    async def _handle(self, request: Request) -> Response:
        received = Received(
            request.url.path,
            {name.lower(): value for name, value in request.headers.items()},
            await request.body(),
            time.monotonic(),
        )
        index = len(self.requests)
        self.requests.append(received)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            return await self.behaviour(index, received)
        finally:
            self.active -= 1

    def ids(self) -> list[str]:
        return [request.webhook_id for request in self.requests]


@asynccontextmanager
async def receiving(behaviour: Behaviour | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver(behaviour) if behaviour else Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver._handle, methods=["POST", "GET"])])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=receiver.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server, task), within=10, interval=0.02)
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server, task: "asyncio.Task[None]") -> bool:
    if task.done():
        task.result()
    return server.started


# --- configuration and events ----------------------------------------------------------------

ALL_EVENT_TYPES = list(ESCALATION_EVENT_TYPES)


def hook(
    hook_id: str,
    url: str,
    secret: str,
    event_types: Sequence[str] = ESCALATION_EVENT_TYPES,
    enabled: bool = True,
) -> WebhookSubscription:
    return WebhookSubscription(
        id=hook_id, url=url, secret=secret, event_types=list(event_types), enabled=enabled
    )


def webhooks_config(*hooks: WebhookSubscription) -> EscalationConfig:
    return EscalationConfig(webhooks=list(hooks))


def detected(
    tenant: str, agent: str, conversation: str, environment: str = "published", n: int = 0
) -> EscalationDetected:
    trigger = {"kind": "keyword", "detail": "keyword refund", "score": 1.0}
    escalation_id = uuid4()
    return EscalationDetected(
        event_id=event_id_for(escalation_id, "escalation.detected", str(n)),
        tenant_id=tenant,
        agent_id=agent,
        environment=environment,
        escalation_id=escalation_id,
        conversation_id=conversation,
        trigger=trigger,
        triggers=[trigger],
        reason="The customer asked for a refund.",
        urgency="high",
        severity="critical",
        category="refund",
        topic="refund",
        area="order",
        trigger_message_id=f"m-{n}",
        turn_count=1,
    )


def follow_ups(escalation: EscalationDetected) -> list[EventEnvelope]:
    """One event of every other type about the same escalation."""
    common = envelope_fields(escalation)
    routed_facts = escalation.model_dump(exclude={"event_id", "event_type", "occurred_at"})

    def event_id(kind: str) -> UUID:
        return event_id_for(escalation.escalation_id, kind)

    return [
        EscalationRouted(**routed_facts, event_id=event_id("escalation.routed")),
        EscalationClaimed(**common, event_id=event_id("claimed"), supervisor_id="alice"),
        EscalationReleased(
            **common, event_id=event_id("released"), supervisor_id="alice", released_by="root"
        ),
        EscalationCompleted(
            **common, event_id=event_id("completed"), supervisor_id="bob", resolution_note="ok"
        ),
        EscalationReassignedToAI(**common, event_id=event_id("ai"), reassigned_by="bob"),
        EscalationSlaBreached(
            **common, event_id=event_id("sla"), pending_since=now(), unclaimed_seconds=300
        ),
    ]


# --- the dispatcher --------------------------------------------------------------------------


def dispatcher_settings(kafka: str, database: str, **overrides: Any) -> WebhookDispatcherSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka,
        "database_url": database,
        "allow_networks": "127.0.0.1/32,::1/128",
        "retry_schedule_seconds": (0.0, 0.2, 0.2, 0.2, 0.2),
        "retry_jitter": 0.0,
        "poll_interval_seconds": 0.5,
        "port": free_port(),
    }
    return WebhookDispatcherSettings(**(values | overrides))


@asynccontextmanager
async def dispatching(kafka: str, database: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    app = create_app(dispatcher_settings(kafka, database, **overrides))
    async with running(app):
        yield app


@asynccontextmanager
async def pool_of(database: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database, 4)
    try:
        yield pool
    finally:
        await pool.close()


async def enqueue(
    pool: Pool, events: Sequence[EventEnvelope], hooks: Sequence[WebhookSubscription]
) -> list[UUID]:
    """Queue deliveries as the Kafka handler does, without Kafka: the ids, in order."""
    planned = [
        NewDelivery(
            tenant_id=event.tenant_id,
            agent_id=event.agent_id,
            environment=event.environment.value,
            webhook_id=subscription.id,
            event_id=event.event_id,
            event_type=event.event_type,
            escalation_id=event.escalation_id,
            conversation_id=event.conversation_id,
            payload=event.model_dump_json(),
            target_host=endpoint_host(subscription.url),
        )
        for event in events
        for subscription in hooks
    ]
    async with pool.acquire() as connection, connection.transaction():
        await repository.insert_deliveries(connection, planned)
    return [delivery.id for delivery in planned]


async def delivery(pool: Pool, delivery_id: UUID) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id)
    assert row is not None
    return row


async def attempts(pool: Pool, delivery_id: UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id", delivery_id
    )


async def finished(
    pool: Pool, delivery_ids: Sequence[UUID], within: float = 30.0
) -> list[asyncpg.Record]:
    """The deliveries, once none is pending any more."""

    async def done() -> list[asyncpg.Record] | None:
        rows = await pool.fetch(
            "SELECT * FROM webhook_deliveries WHERE id = ANY($1::uuid[])", list(delivery_ids)
        )
        complete = len(rows) == len(delivery_ids) and all(r["status"] != "pending" for r in rows)
        return sorted(rows, key=lambda r: list(delivery_ids).index(r["id"])) if complete else None

    return await eventually(done, within=within)


async def stop_pending(pool: Pool, tenant: str) -> None:
    """Leave nothing of a test's tenant for the next test's dispatcher to send."""
    await pool.execute(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL"
        " WHERE tenant_id = $1 AND status = 'pending'",
        tenant,
    )
