"""Lifecycle events reach ``escalations.lifecycle`` and ``resume_ai`` reaches ``chat.handoffs``
through the outbox; an event written while publishing fails is delivered later, with its id."""

import json
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI

from escalator_schemas import topics
from escalator_schemas.events import HandoffCommand, lifecycle_event_adapter
from escalator_schemas.ids import event_id_for
from queue_api.auth import Role
from queue_api.outbox import OutboxRecord, OutboxRelay, kafka_publisher
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import about, pool_of, routed, store
from tests.stack import api_client, eventually, tail, token

pytestmark = pytest.mark.integration


async def test_lifecycle_events_and_resume_ai_are_published(
    queue_api: FastAPI, queue_settings: QueueApiSettings, kafka: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    handled, handed_back = routed(tenant, supervisors=["alice", "carol"]), routed(tenant)
    await store(queue_api, [handled, handed_back])
    path = f"/api/v1/escalations/{handled.escalation_id}"
    async with (
        tail(kafka, topics.ESCALATIONS_LIFECYCLE) as lifecycle,
        tail(kafka, topics.CHAT_HANDOFFS) as handoffs,
        api_client(queue_api, token(queue_settings, "alice", tenant, Role.SUPERVISOR)) as alice,
        api_client(queue_api, token(queue_settings, "carol", tenant, Role.SUPERVISOR)) as carol,
    ):
        for client, action, body in (
            (alice, "/claim", None),
            (alice, "/release", None),
            (carol, "/claim", None),
            (carol, "/complete", {"resolution_note": "Refunded.", "ai_could_have_handled": True}),
        ):
            assert (await client.post(path + action, json=body)).status_code == 200
        reassign = f"/api/v1/escalations/{handed_back.escalation_id}/reassign-to-ai"
        assert (await alice.post(reassign)).status_code == 200
        handled_records = await lifecycle.wait_for_matching(about(handled.escalation_id), 4)
        handed_back_records = await lifecycle.wait_for_matching(about(handed_back.escalation_id), 1)
        resume_records = await handoffs.wait_for_matching(about(handed_back.escalation_id), 1)

    events = [lifecycle_event_adapter.validate_json(r.value or b"") for r in handled_records]
    assert [e.event_type for e in events] == [
        "escalation.claimed",
        "escalation.released",
        "escalation.claimed",
        "escalation.completed",
    ]
    assert [e.event_id for e in events] == [
        event_id_for(handled.escalation_id, e.event_type, f"r{n}") for n, e in enumerate(events, 1)
    ]
    assert {r.key for r in handled_records} == {handled.conversation_id.encode()}
    claimed, released, _, completed = (e.model_dump() for e in events)
    assert claimed["supervisor_id"] == "alice"
    assert (released["supervisor_id"], released["released_by"]) == ("alice", "alice")
    assert completed["supervisor_id"] == "carol"
    assert completed["resolution_note"] == "Refunded."
    assert completed["ai_could_have_handled"] is True
    assert all(e.tenant_id == tenant and e.agent_id == handled.agent_id for e in events)
    assert dict(handled_records[0].headers)["event-type"] == b"escalation.claimed"

    reassigned = lifecycle_event_adapter.validate_json(handed_back_records[0].value or b"")
    assert reassigned.event_type == "escalation.reassigned_to_ai"
    assert reassigned.model_dump()["reassigned_by"] == "alice"
    resume = HandoffCommand.model_validate_json(resume_records[0].value or b"")
    assert resume.kind == "resume_ai"
    assert resume.event_id == event_id_for(handed_back.escalation_id, "chat.handoff", "resume_ai:1")
    assert resume_records[0].key == handed_back.conversation_id.encode()

    async def outbox_empty() -> bool:
        left = await pool_of(queue_api).fetchval("SELECT count(*) FROM escalation_outbox")
        return bool(left == 0)

    await eventually(outbox_empty)


async def test_an_event_written_while_publishing_fails_is_delivered_later(
    queue_api: FastAPI, queue_settings: QueueApiSettings, kafka: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant)
    await store(queue_api, [event])
    pool = pool_of(queue_api)
    relay: OutboxRelay = queue_api.state.outbox_relay
    attempts: list[int] = []

    async def broker_down(records: Sequence[OutboxRecord]) -> None:
        attempts.append(len(records))
        raise KafkaConnectionError("the broker is unreachable")

    published_then_crashed: list[int] = []
    real = kafka_publisher(queue_api.state.context.broker)

    async def crash_after_ack(records: Sequence[OutboxRecord]) -> None:
        await real(records)
        published_then_crashed.append(len(records))
        raise RuntimeError("the process died before the rows were deleted")

    await relay.stop()
    try:
        async with (
            tail(kafka, topics.ESCALATIONS_LIFECYCLE) as lifecycle,
            api_client(queue_api, token(queue_settings, "alice", tenant, Role.SUPERVISOR)) as alice,
        ):
            claimed = await alice.post(f"/api/v1/escalations/{event.escalation_id}/claim")
            assert claimed.status_code == 200

            failing = OutboxRelay(pool, queue_settings.database_url, broker_down)
            with pytest.raises(KafkaConnectionError):
                await failing.relay_once()
            row = await pool.fetchrow(
                "SELECT event_id, attempts, last_error FROM escalation_outbox"
                " WHERE payload->>'escalation_id' = $1",
                str(event.escalation_id),
            )
            assert row is not None
            assert row["attempts"] == 1
            assert "unreachable" in row["last_error"]
            await lifecycle.drain(1.0)
            assert [r for r in lifecycle.records if about(event.escalation_id)(r)] == []

            crashing = OutboxRelay(pool, queue_settings.database_url, crash_after_ack)
            with pytest.raises(RuntimeError):
                await crashing.relay_once()

            await relay.start()
            delivered = await lifecycle.wait_for_matching(about(event.escalation_id), 2)
    finally:
        await relay.start()

    assert attempts
    assert published_then_crashed
    # Published twice (once before the "crash", once by the relay): the same event both times.
    assert [json.loads(r.value or b"")["event_id"] for r in delivered] == [str(row["event_id"])] * 2
    assert row["event_id"] == event_id_for(event.escalation_id, "escalation.claimed", "r1")
    left = await pool.fetchval(
        "SELECT count(*) FROM escalation_outbox WHERE payload->>'escalation_id' = $1",
        str(event.escalation_id),
    )
    assert left == 0
