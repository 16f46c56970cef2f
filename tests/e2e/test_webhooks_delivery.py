"""Issue 8 end to end: escalation events published to their Kafka topics reach the right
subscribers as signed Standard Webhooks requests; a redelivered Kafka event creates no second
delivery; a poison record goes to the dead-letter topic."""

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook

from escalator_runtime import config_store
from escalator_runtime.config_store import new_webhook_secret
from escalator_schemas import topics
from escalator_schemas.events import EventEnvelope
from tests.stack import eventually, producer, tail
from tests.webhook_dispatcher.harness import (
    ALL_EVENT_TYPES,
    Receiver,
    detected,
    dispatching,
    follow_ups,
    hook,
    pool_of,
    receiving,
    webhooks_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def topic_of(event: EventEnvelope) -> str:
    if event.event_type == "escalation.detected":
        return topics.ESCALATIONS_DETECTED
    if event.event_type == "escalation.routed":
        return topics.ESCALATIONS_ROUTED
    return topics.ESCALATIONS_LIFECYCLE


async def publish(kafka_producer: AIOKafkaProducer, events: Sequence[EventEnvelope]) -> None:
    for event in events:
        await kafka_producer.send_and_wait(
            topic_of(event),
            event.model_dump_json().encode(),
            key=event.conversation_id.encode(),
        )


def received(receiver: Receiver, count: int) -> "asyncio.Future[bool]":
    async def enough() -> bool:
        return len(receiver.requests) >= count

    return asyncio.ensure_future(eventually(enough, within=60))


async def test_escalation_events_reach_their_subscribers_once(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    secrets = {name: new_webhook_secret() for name in ("all", "claims", "preview", "off")}
    async with (
        receiving() as everything,
        receiving() as claims,
        receiving() as preview,
        receiving() as switched_off,
        pool_of(database) as pool,
        tail(kafka, topics.dlq(topics.ESCALATIONS_LIFECYCLE)) as dead_letters,
        producer(kafka) as kafka_producer,
    ):
        live = webhooks_config(
            hook("all", everything.url, secrets["all"], ALL_EVENT_TYPES),
            hook("claims", claims.url, secrets["claims"], ["escalation.claimed"]),
            hook("off", switched_off.url, secrets["off"], ALL_EVENT_TYPES, enabled=False),
        )
        await config_store.migrate(pool)
        await config_store.save_draft(pool, tenant, agent, live, "test")
        await config_store.publish(pool, tenant, agent, "test")
        draft = webhooks_config(hook("preview", preview.url, secrets["preview"], ALL_EVENT_TYPES))
        await config_store.save_draft(pool, tenant, agent, draft, "test")

        escalation = detected(tenant, agent, conversation)
        published = [escalation, *follow_ups(escalation)]
        trial = detected(tenant, agent, f"{conversation}-preview", environment="preview")
        async with dispatching(kafka, database):
            await publish(kafka_producer, [*published, trial])
            poison = b'{"event_type": "escalation.claimed", "tenant_id": 42'
            await kafka_producer.send_and_wait(
                topics.ESCALATIONS_LIFECYCLE, poison, key=conversation.encode()
            )
            await received(everything, 7)
            await received(claims, 1)
            await received(preview, 1)

            # The same record again, then a new event behind it on the same partition: once
            # the new one is delivered, the repeat has been consumed.
            await publish(kafka_producer, [escalation])
            sentinel = detected(tenant, agent, conversation, n=99)
            await publish(kafka_producer, [sentinel])
            await received(everything, 8)
            # Other consumers of the topic (a running stack) may dead-letter it too.
            dead = await dead_letters.wait_for_matching(
                lambda r: r.value == poison and ("x-service", b"webhook-dispatcher") in r.headers,
                1,
            )
        deliveries = await pool.fetch(
            "SELECT webhook_id, event_id, status FROM webhook_deliveries WHERE tenant_id = $1",
            tenant,
        )

    by_id = {str(event.event_id): event for event in [*published, sentinel]}
    assert sorted(everything.ids()) == sorted(by_id)
    for request in everything.requests:
        event = by_id[request.webhook_id]
        assert request.body == event.model_dump_json().encode()
        assert Webhook(secrets["all"]).verify(request.body, request.headers)["event_type"] == (
            event.event_type
        )
    assert {by_id[i].event_type for i in everything.ids()} == set(ALL_EVENT_TYPES)
    [claim] = claims.requests
    assert by_id[claim.webhook_id].event_type == "escalation.claimed"
    Webhook(secrets["claims"]).verify(claim.body, claim.headers)
    [tried] = preview.requests
    assert tried.webhook_id == str(trial.event_id)
    Webhook(secrets["preview"]).verify(tried.body, tried.headers)
    assert switched_off.requests == []
    assert everything.ids().count(str(escalation.event_id)) == 1
    keys = [(row["webhook_id"], str(row["event_id"])) for row in deliveries]
    assert len(keys) == len(set(keys)) == 7 + 1 + 1 + 1
    assert all(row["status"] == "succeeded" for row in deliveries)
    assert b"Invalid JSON" in dict(dead[0].headers)["x-error"]
