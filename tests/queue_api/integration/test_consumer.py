"""Consuming ``escalations.routed`` through Kafka: idempotent, and nothing the database cannot
hold blocks the partition."""

import pytest
from fastapi import FastAPI

from escalator_schemas import topics
from escalator_schemas.chat import Role as ChatRole
from escalator_schemas.events import TranscriptMessage
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import routed
from tests.stack import api_client, eventually, now, producer, tail, token

pytestmark = pytest.mark.integration


async def test_replays_and_poison_records_leave_one_row_per_escalation(
    queue_api: FastAPI, queue_settings: QueueApiSettings, kafka: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    good = routed(tenant)
    with_nul = routed(
        tenant,
        transcript=[
            TranscriptMessage(
                message_id="m1", role=ChatRole.CUSTOMER, text="refund\x00 now", sent_at=now()
            )
        ],
    )
    poison = b'{"event_type": "escalation.routed", "tenant_id": 42'
    async with (
        tail(kafka, topics.dlq(topics.ESCALATIONS_ROUTED)) as dead_letters,
        producer(kafka) as kafka_producer,
        api_client(queue_api, token(queue_settings, "root", tenant, Role.ADMIN)) as admin,
    ):
        for value, key in (
            (good.model_dump_json().encode(), good.conversation_id),
            (poison, good.conversation_id),
            (with_nul.model_dump_json().encode(), with_nul.conversation_id),
            (good.model_dump_json().encode(), good.conversation_id),  # a replay
        ):
            await kafka_producer.send_and_wait(topics.ESCALATIONS_ROUTED, value, key=key.encode())

        async def both_stored() -> list[dict[str, object]] | None:
            items: list[dict[str, object]] = (await admin.get("/api/v1/escalations")).json()[
                "items"
            ]
            return items if len(items) == 2 else None

        items = await eventually(both_stored)
        dead = await dead_letters.wait_for_matching(lambda record: record.value == poison, 1)
        detail = (await admin.get(f"/api/v1/escalations/{with_nul.escalation_id}")).json()
        replayed = (await admin.get(f"/api/v1/escalations/{good.escalation_id}")).json()

    assert {item["escalation_id"] for item in items} == {
        str(good.escalation_id),
        str(with_nul.escalation_id),
    }
    assert detail["transcript"][0]["text"] == "refund\ufffd now"
    assert [entry["action"] for entry in replayed["audit"]] == ["detected", "routed"]
    assert dict(dead[0].headers)["x-source-topic"] == topics.ESCALATIONS_ROUTED.encode()
