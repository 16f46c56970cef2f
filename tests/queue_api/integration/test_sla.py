"""Unclaimed escalations breach their SLA once: an ``escalation.sla_breached`` event, and the
escalation offered to every active supervisor of the agent, live on the stream."""

from datetime import timedelta
from typing import Any

import pytest
from websockets.asyncio.client import connect

from escalator_runtime.db import create_pool
from escalator_schemas import topics
from escalator_schemas.classification import Topic
from escalator_schemas.config import Supervisor
from escalator_schemas.events import EscalationSlaBreached
from escalator_schemas.ids import event_id_for
from queue_api import handlers
from queue_api.auth import Role
from queue_api.main import create_app
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import about, pushes, receive_json, receive_until, routed, store
from tests.stack import api_client, demo_config, eventually, now, publish_config, serve, tail, token

pytestmark = pytest.mark.integration

SUPERVISORS = [
    Supervisor(id="alice", name="Alice", email="alice@example.com", topics=[Topic.REFUND]),
    Supervisor(id="dave", name="Dave", email="dave@example.com", topics=[Topic.BILLING]),
    Supervisor(id="erin", name="Erin", email="erin@example.com", active=False),
]


async def test_an_unclaimed_escalation_is_offered_wider_once(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    await publish_config(database, tenant, agent, demo_config(supervisors=SUPERVISORS))
    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        sla_seconds_override=1,
        sla_sweep_interval_seconds=0.2,
        stream_heartbeat_seconds=0.5,
    )
    app = create_app(settings)
    unclaimed = routed(tenant, agent=agent, supervisors=["alice"])
    claimed_in_time = routed(tenant, agent=agent, supervisors=["alice"])
    dave = token(settings, "dave", tenant, Role.SUPERVISOR)
    async with (
        tail(kafka, topics.ESCALATIONS_LIFECYCLE) as lifecycle,
        serve(app) as address,
        connect(f"ws://{address}/api/v1/stream?access_token={dave}") as websocket,
        api_client(app, dave) as as_dave,
        api_client(app, token(settings, "alice", tenant, Role.SUPERVISOR)) as as_alice,
    ):
        assert (await receive_json(websocket))["type"] == "ready"
        await store(app, [unclaimed, claimed_in_time], settings.sla_seconds_override)
        claim = f"/api/v1/escalations/{claimed_in_time.escalation_id}/claim"
        assert (await as_alice.post(claim)).status_code == 200
        assert (
            await as_dave.get(f"/api/v1/escalations/{unclaimed.escalation_id}")
        ).status_code == 404

        breached = await lifecycle.wait_for_matching(about(unclaimed.escalation_id), 1, within=20)
        offered = await receive_until(websocket, lambda ms: len(pushes(ms)) >= 1)
        # Sweeps go on every 0.2 s: a second breach would show up here.
        await lifecycle.drain(1.5)
        detail = (await as_dave.get(f"/api/v1/escalations/{unclaimed.escalation_id}")).json()
        other = (await as_alice.get(f"/api/v1/escalations/{claimed_in_time.escalation_id}")).json()
        taken = await as_dave.post(f"/api/v1/escalations/{unclaimed.escalation_id}/claim")

    events = [
        EscalationSlaBreached.model_validate_json(r.value or b"")
        for r in lifecycle.records
        if about(unclaimed.escalation_id)(r) and b"sla_breached" in (r.value or b"")
    ]
    assert len(events) == 1
    (event,) = events
    assert event.offered_to == ["dave"]
    assert event.event_id == event_id_for(unclaimed.escalation_id, "escalation.sla_breached", "")
    assert event.unclaimed_seconds >= 1
    assert event.pending_since == unclaimed.occurred_at
    assert {r.key for r in breached} == {unclaimed.conversation_id.encode()}
    push = pushes(offered)[0]
    assert (push["action"], push["escalation"]["escalation_id"]) == (
        "sla_breached",
        str(unclaimed.escalation_id),
    )
    assert push["escalation"]["sla_breached_at"] is not None
    assert [e["action"] for e in detail["audit"]].count("sla_breached") == 1
    assert detail["audit"][-1]["detail"]["offered_to"] == ["dave"]
    assert "sla_breached" not in [e["action"] for e in other["audit"]]
    assert taken.status_code == 200


async def test_a_deadline_passed_while_no_queue_api_ran_is_breached_at_start(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    await publish_config(
        database, tenant, agent, demo_config(supervisors=SUPERVISORS, unclaimed_sla_seconds=60)
    )
    overdue = routed(tenant, agent=agent, occurred_at=now() - timedelta(minutes=2))
    pool = await create_pool(database, 2)
    try:
        async with pool.acquire() as connection, connection.transaction():
            await handlers.store_routed(connection, [overdue])
        deadline = await pool.fetchval(
            "SELECT sla_deadline FROM escalations WHERE escalation_id = $1", overdue.escalation_id
        )
    finally:
        await pool.close()
    assert deadline == overdue.occurred_at + timedelta(seconds=60)

    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka, database_url=database, sla_sweep_interval_seconds=0.2
    )
    app = create_app(settings)
    async with (
        serve(app),
        api_client(app, token(settings, "root", tenant, Role.ADMIN)) as admin,
    ):

        async def breached() -> dict[str, Any] | None:
            body = (await admin.get(f"/api/v1/escalations/{overdue.escalation_id}")).json()
            return body if body["sla_breached_at"] else None

        detail = await eventually(breached)
    last = detail["audit"][-1]
    assert last["action"] == "sla_breached"
    assert last["detail"] == {"offered_to": ["dave"], "sla_seconds": 60}
