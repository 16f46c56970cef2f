"""Issue 4: the router on the real broker and database: workloads from lifecycle events
(idempotent on event_id), capacity, the idle tie-break, stable routing for a redelivered
detection, and poison lifecycle records dead-lettered."""

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from escalator_runtime.db import Pool, create_pool
from escalator_schemas import topics
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationCompleted,
    EscalationDetected,
    EscalationReleased,
    EventEnvelope,
    Trigger,
)
from escalator_schemas.ids import escalation_id_for
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.stack import TopicTail, demo_config, eventually, now, producer, publish_config, running
from tests.stack import tail as open_tail

pytestmark = [pytest.mark.integration]


class Scenario:
    def __init__(self, unique: str, kafka_producer: AIOKafkaProducer, pool: Pool) -> None:
        self.tenant, self.agent = f"t-{unique}", f"a-{unique}"
        self.unique = unique
        self.producer = kafka_producer
        self.pool = pool

    def envelope(self, name: str) -> dict[str, Any]:
        conversation = f"c-{self.unique}-{name}"
        return {
            "tenant_id": self.tenant,
            "agent_id": self.agent,
            "environment": "published",
            "conversation_id": conversation,
            "escalation_id": escalation_id_for(
                self.tenant, self.agent, "published", conversation, f"m-{name}"
            ),
        }

    def detection(self, name: str) -> EscalationDetected:
        trigger = Trigger(kind="keyword", detail='keyword "refund"', score=1.0)
        return EscalationDetected(
            event_id=uuid4(),
            **self.envelope(name),
            trigger=trigger,
            triggers=[trigger],
            reason="The customer asked for a refund.",
            urgency="high",
            severity="critical",
            category="refund",
            topic="refund",
            area="payment",
            trigger_message_id=f"m-{name}",
            turn_count=1,
            config_version=1,
        )

    def claim(self, name: str, supervisor: str, minutes_ago: int = 0) -> EscalationClaimed:
        return EscalationClaimed(
            event_id=uuid4(),
            **self.envelope(name),
            supervisor_id=supervisor,
            occurred_at=now() - timedelta(minutes=minutes_ago),
        )

    async def send(self, topic: str, event: EventEnvelope | bytes, key: str = "") -> None:
        value = event if isinstance(event, bytes) else event.model_dump_json().encode()
        conversation = key or (event.conversation_id if isinstance(event, EventEnvelope) else "x")
        await self.producer.send_and_wait(topic, value, key=conversation.encode())

    async def lifecycle(self, *events: EventEnvelope) -> None:
        """Send and wait until the router has applied them all."""
        for event in events:
            await self.send(topics.ESCALATIONS_LIFECYCLE, event)

        async def applied() -> bool:
            count = await self.pool.fetchval(
                "SELECT count(*) FROM router_lifecycle_events WHERE event_id = ANY($1::uuid[])",
                [event.event_id for event in events],
            )
            return bool(count == len(events))

        await eventually(applied, within=20)

    async def load(self, supervisor: str) -> int:
        count = await self.pool.fetchval(
            "SELECT count(*) FROM router_assignments WHERE tenant_id = $1 AND supervisor_id = $2",
            self.tenant,
            supervisor,
        )
        return int(count)


async def routed_for(
    routed: TopicTail, escalation_id: UUID, count: int = 1
) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        with contextlib.suppress(TimeoutError):
            await routed.wait_for(len(routed.records) + 1, within=0.2)
        found = [json.loads(record.value) for record in routed.records]
        mine = [event for event in found if event["escalation_id"] == str(escalation_id)]
        return mine if len(mine) >= count else None

    return await eventually(arrived, within=20)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[Pool]:
    test_pool = await create_pool(database, 2)
    yield test_pool
    await test_pool.close()


async def test_workloads_capacity_idle_and_stable_replays(
    kafka: str, database: str, unique: str, pool: Pool
) -> None:
    config = demo_config(
        supervisors=[
            {"id": "ann", "name": "Ann", "email": "ann@example.com", "max_concurrent": 1},
            {"id": "ben", "name": "Ben", "email": "ben@example.com", "max_concurrent": 2},
            {"id": "cat", "name": "Cat", "email": "cat@example.com", "topics": ["billing"]},
            {"id": "dan", "name": "Dan", "email": "dan@example.com", "active": False},
        ]
    )
    await publish_config(database, f"t-{unique}", f"a-{unique}", config)
    router = create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database))
    async with (
        open_tail(kafka, topics.ESCALATIONS_ROUTED) as routed,
        open_tail(kafka, topics.dlq(topics.ESCALATIONS_LIFECYCLE)) as dead_letters,
        running(router),
        producer(kafka) as kafka_producer,
    ):
        scene = Scenario(unique, kafka_producer, pool)

        # Ann is at her limit of 1 (claimed long ago): the suggestion goes to Ben.
        ann_claim = scene.claim("earlier", "ann", minutes_ago=60)
        await scene.lifecycle(ann_claim)
        first = scene.detection("first")
        await scene.send(topics.ESCALATIONS_DETECTED, first)
        [first_routed] = await routed_for(routed, first.escalation_id)

        # Ann releases; the claim is delivered again: it must change nothing.
        release = EscalationReleased(
            event_id=uuid4(),
            **scene.envelope("earlier"),
            supervisor_id="ann",
            released_by="ann",
        )
        await scene.lifecycle(release)
        await scene.lifecycle(ann_claim)
        ann_after_redelivery = await scene.load("ann")

        # Both free now: equal load, Ann idle longest (her claim was an hour ago, Ben was
        # suggested a moment ago).
        second = scene.detection("second")
        await scene.send(topics.ESCALATIONS_DETECTED, second)
        [second_routed] = await routed_for(routed, second.escalation_id)

        # Everyone matching is full: no suggestion, but still visible to all who match.
        await scene.lifecycle(
            scene.claim("x1", "ann"), scene.claim("x2", "ben"), scene.claim("x3", "ben")
        )
        full = scene.detection("full")
        await scene.send(topics.ESCALATIONS_DETECTED, full)
        [full_routed] = await routed_for(routed, full.escalation_id)

        # The first detection delivered again: recomputing now would suggest nobody, yet the
        # stored decision answers exactly as the first time.
        await scene.send(topics.ESCALATIONS_DETECTED, first)
        replayed = (await routed_for(routed, first.escalation_id, count=2))[1]

        poison = b'{"event_type": "escalation.claimed", "supervisor_id": 7}'
        await scene.send(topics.ESCALATIONS_LIFECYCLE, poison, key=f"c-{unique}-poison")
        poison_key = f"c-{unique}-poison".encode()
        dead = await dead_letters.wait_for_matching(lambda r: r.key == poison_key, count=1)
        loads = {sid: await scene.load(sid) for sid in ("ann", "ben", "cat")}

    assert [m["supervisor_id"] for m in first_routed["matched_supervisors"]] == ["ann", "ben"]
    assert first_routed["matched_supervisors"][0]["reasons"] == [
        "any category",
        "any topic",
        "any area",
    ]
    assert first_routed["suggested_assignee"] == "ben"
    assert first_routed["unrouted"] is False
    assert ann_after_redelivery == 0
    assert second_routed["suggested_assignee"] == "ann"
    assert full_routed["suggested_assignee"] is None
    assert [m["supervisor_id"] for m in full_routed["matched_supervisors"]] == ["ann", "ben"]
    assert replayed == first_routed
    assert loads == {"ann": 1, "ben": 2, "cat": 0}
    assert any(record.value == poison for record in dead)
    poisoned = next(record for record in dead if record.value == poison)
    headers = dict(poisoned.headers)
    assert headers["x-source-topic"] == topics.ESCALATIONS_LIFECYCLE.encode()
    assert b"supervisor_id" in headers["x-error"] or b"escalation_id" in headers["x-error"]


async def test_redelivered_lifecycle_events_are_applied_once(
    kafka: str, database: str, unique: str, pool: Pool
) -> None:
    await publish_config(database, f"t-{unique}", f"a-{unique}", demo_config())
    router = create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database))
    async with running(router), producer(kafka) as kafka_producer:
        scene = Scenario(unique, kafka_producer, pool)
        claims = [scene.claim(f"e{n}", "alice") for n in range(3)]
        await scene.lifecycle(*claims)
        await scene.lifecycle(*claims)  # the whole batch again
        after_claims = await scene.load("alice")
        completion = EscalationCompleted(
            event_id=uuid4(),
            **scene.envelope("e0"),
            supervisor_id="alice",
            resolution_note="Refunded.",
        )
        await scene.lifecycle(completion)
        await scene.lifecycle(completion)
        after_completion = await scene.load("alice")
        rows = await pool.fetchval(
            "SELECT count(*) FROM router_lifecycle_events WHERE event_id = ANY($1::uuid[])",
            [event.event_id for event in [*claims, completion]],
        )

    assert after_claims == 3
    assert after_completion == 2
    assert rows == 4
