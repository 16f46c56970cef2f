"""Issue 2: one escalation end to end on the real broker and database, and a poison message
dead-lettered while the consumer keeps going."""

import json
import uuid
from typing import Any

import pytest

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_schemas import topics
from escalator_schemas.ids import escalation_id_for
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.stack import (
    api_client,
    demo_config,
    eventually,
    now,
    producer,
    publish_config,
    running,
    tail,
    token,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def test_keyword_message_reaches_the_queue_and_poison_goes_to_dlq(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    await publish_config(database, tenant, agent, demo_config())
    queue_settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    queue_api = create_queue_api(queue_settings)
    async with (
        tail(kafka, topics.dlq(topics.CHAT_MESSAGES)) as dead_letters,
        running(
            create_detector(DetectorSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            queue_api,
        ),
        producer(kafka) as kafka_producer,
    ):
        poison = b'{"message_id": "broken", "text": 42'
        await kafka_producer.send_and_wait(topics.CHAT_MESSAGES, poison, key=conversation.encode())
        invalid = json.dumps({"message_id": f"m-{unique}-bad", "role": "robot"}).encode()
        await kafka_producer.send_and_wait(topics.CHAT_MESSAGES, invalid, key=conversation.encode())
        message_id = f"m-{unique}-1"
        good = {
            "message_id": message_id,
            "conversation_id": conversation,
            "tenant_id": tenant,
            "agent_id": agent,
            "role": "customer",
            "text": "This is the third time it broke. I want a REFUND now.",
            "sent_at": now().isoformat(),
            "customer": {"id": "cus-1", "name": "Dana Reyes"},
            "metadata": {"topic": "refund", "area": "order"},
        }
        await kafka_producer.send_and_wait(
            topics.CHAT_MESSAGES, json.dumps(good).encode(), key=conversation.encode()
        )

        async with api_client(queue_api, token(queue_settings, "root", tenant)) as client:

            async def queued() -> list[dict[str, Any]] | None:
                page = (await client.get("/api/v1/escalations")).json()
                return page["items"] or None

            items = await eventually(queued)
            detail = (await client.get(f"/api/v1/escalations/{items[0]['escalation_id']}")).json()
        dead = await dead_letters.wait_for_matching(
            lambda r: r.key == conversation.encode(), count=2
        )

    assert len(items) == 1
    escalation = items[0]
    assert escalation["escalation_id"] == str(
        escalation_id_for(tenant, agent, "published", conversation, message_id)
    )
    assert escalation["status"] == "pending"
    assert escalation["category"] == "refund"
    assert escalation["urgency"] == "high"
    assert escalation["severity"] == "critical"
    assert escalation["topic"] == "refund"
    assert escalation["area"] == "order"
    assert escalation["trigger"]["kind"] == "keyword"
    assert escalation["customer"]["name"] == "Dana Reyes"
    assert [m["supervisor_id"] for m in detail["matched_supervisors"]] == ["alice"]
    assert [entry["action"] for entry in detail["audit"]] == ["detected", "routed"]
    assert detail["transcript"][-1]["message_id"] == message_id

    by_body = {record.value: dict(record.headers) for record in dead}
    assert poison in by_body
    assert invalid in by_body
    assert by_body[poison]["x-source-topic"] == topics.CHAT_MESSAGES.encode()
    assert b"JSON" in by_body[poison]["x-error"] or b"json" in by_body[poison]["x-error"]
    assert b"role" in by_body[invalid]["x-error"]
    assert {"x-error-type", "x-source-partition", "x-source-offset"} <= set(by_body[invalid])


async def test_other_tenant_sees_nothing(kafka: str, database: str, unique: str) -> None:
    settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    app = create_queue_api(settings)
    async with running(app), api_client(app, token(settings, "eve", f"other-{unique}")) as client:
        page = (await client.get("/api/v1/escalations")).json()
        missing = await client.get(f"/api/v1/escalations/{uuid.uuid4()}")
    assert page == {"items": [], "next_cursor": None}
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
