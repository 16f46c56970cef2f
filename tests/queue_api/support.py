"""Helpers for queue-api tests: escalations as the router publishes them, a WebSocket reader
with deadlines, and queue-api wired to a real detector (backtests, frustration scoring)."""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_runtime.db import Pool
from escalator_schemas.chat import CustomerProfile, Environment, Role
from escalator_schemas.classification import Area, Severity, Topic, TriggerKind, Urgency
from escalator_schemas.events import (
    EscalationRouted,
    SupervisorMatch,
    TranscriptMessage,
    Trigger,
)
from escalator_schemas.ids import escalation_id_for
from queue_api import handlers
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.stack import (
    now,  # re-exported: queue tests import it from here
    running,
    serve,
)


@asynccontextmanager
async def with_detector(
    kafka: str, database: str, token: str
) -> AsyncIterator[tuple[FastAPI, QueueApiSettings]]:
    """queue-api running in-process and calling a real detector (cues only) on its internal
    backtest endpoint, behind ``token``: the app and its settings."""
    detector = create_detector(
        DetectorSettings(
            kafka_bootstrap_servers=kafka,
            database_url=database,
            judge_use_model=False,
            backtest_token=token,
        )
    )
    async with serve(detector) as address:
        settings = QueueApiSettings(
            kafka_bootstrap_servers=kafka,
            database_url=database,
            detector_url=f"http://{address}",
            detector_token=token,
        )
        app = create_queue_api(settings)
        async with running(app):
            yield app, settings


def routed(
    tenant: str,
    *,
    agent: str = "agent-1",
    conversation: str | None = None,
    supervisors: Sequence[str] = ("alice",),
    environment: Environment = Environment.PUBLISHED,
    transcript: list[TranscriptMessage] | None = None,
    reason: str = "The customer asked for a refund.",
    occurred_at: datetime | None = None,
) -> EscalationRouted:
    """An ``escalations.routed`` event as the router publishes it."""
    conversation = conversation or f"c-{uuid.uuid4().hex[:10]}"
    message_id = f"m-{uuid.uuid4().hex[:10]}"
    at = occurred_at or now()
    trigger = Trigger(kind=TriggerKind.KEYWORD, detail="keyword 'refund'", score=1.0)
    return EscalationRouted(
        event_id=uuid.uuid4(),
        tenant_id=tenant,
        agent_id=agent,
        environment=environment,
        escalation_id=escalation_id_for(tenant, agent, environment, conversation, message_id),
        conversation_id=conversation,
        occurred_at=at,
        trigger=trigger,
        triggers=[trigger],
        reason=reason,
        urgency=Urgency.HIGH,
        severity=Severity.CRITICAL,
        category="refund",
        topic=Topic.REFUND,
        area=Area.ORDER,
        trigger_message_id=message_id,
        customer=CustomerProfile(id="cus-1", name="Dana Reyes", email="dana@example.com"),
        transcript=transcript
        if transcript is not None
        else [
            TranscriptMessage(
                message_id=message_id,
                role=Role.CUSTOMER,
                text="It broke again. I want a refund now.",
                sent_at=at - timedelta(seconds=5),
            )
        ],
        turn_count=1,
        matched_supervisors=[
            SupervisorMatch(
                supervisor_id=s, name=s.title(), email=f"{s}@example.com", reasons=["topic refund"]
            )
            for s in supervisors
        ],
        suggested_assignee=supervisors[0] if supervisors else None,
        unrouted=not supervisors,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pool_of(app: FastAPI) -> Pool:
    pool: Pool = app.state.context.pool
    return pool


async def store(
    app: FastAPI, events: list[EscalationRouted], sla_override: int | None = None
) -> None:
    """Store escalations the way the ``escalations.routed`` handler does."""
    async with pool_of(app).acquire() as connection, connection.transaction():
        await handlers.store_routed(connection, events, sla_override)


async def receive_json(websocket: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        message = await websocket.recv()
    document: dict[str, Any] = json.loads(message)
    return document


async def receive_until(
    websocket: ClientConnection,
    done: Any,
    within: float = 30.0,
) -> list[dict[str, Any]]:
    """Messages received until ``done(messages)`` holds, or fail after ``within`` seconds."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not done(messages):
            messages.append(json.loads(await websocket.recv()))
    return messages


def pushes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if str(m.get("type", "")).startswith("escalation.")]


def about(escalation_id: object) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    """Records whose event is about ``escalation_id`` (others' tests publish poison records on
    the same topics: those are skipped)."""

    def predicate(record: ConsumerRecord[bytes, bytes]) -> bool:
        try:
            document = json.loads(record.value or b"{}")
        except ValueError:
            return False
        return isinstance(document, dict) and document.get("escalation_id") == str(escalation_id)

    return predicate
