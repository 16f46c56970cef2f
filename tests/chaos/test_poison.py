"""Poison messages among good ones, on the partitions the good ones use: each poison message
ends in its topic's dead-letter topic after a bounded number of attempts, no partition stays
blocked for more than 30 s, and every good message is processed."""

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from escalator_schemas import topics
from tests.chaos.counting import outcome, report, settled
from tests.chaos.pipeline import Lag, configure, pipeline, supervisors
from tests.chaos.traffic import publish_all, traffic
from tests.notifier.smtp import SmtpServer
from tests.queue_api.support import routed
from tests.stack import producer
from tests.webhook_dispatcher.harness import receiving

pytestmark = pytest.mark.integration

SERVICES = ("detector", "router", "queue-api", "notifier", "webhook-dispatcher")
BLOCKED_AT_MOST = 30.0  # seconds
NOT_TEXT = b"\xff\xfe not even text"


Poison = tuple[str, bytes]  # topic, value


def poisons(tenant: str, agent: str, conversation: str, nul_escalations: set[UUID]) -> list[Poison]:
    """Per topic, records no consumer can process: broken JSON, a wrong shape, and well-formed
    ones with NUL characters, which PostgreSQL refuses to store. (queue-api replaces a NUL by
    U+FFFD and queues such an escalation; the notifier and the dispatcher dead-letter it.)"""
    chat: dict[str, Any] = {
        "tenant_id": tenant,
        "agent_id": agent,
        "role": "customer",
        "sent_at": datetime.now(UTC).isoformat(),
    }
    nul_routed = routed(tenant, agent=agent, conversation=conversation + "\x00nul")
    nul_escalations.add(nul_routed.escalation_id)
    nul_chat = chat | {
        "message_id": "nul-conversation",
        "conversation_id": conversation + "\x00",
        "text": "I want a refund",
    }
    return [
        (topics.CHAT_MESSAGES, b'{"message_id": "broken", "text": 42'),
        (topics.CHAT_MESSAGES, json.dumps({"message_id": "wrong-shape", "role": "robot"}).encode()),
        # NUL in the conversation id: the detector cannot even look its state up.
        (topics.CHAT_MESSAGES, json.dumps(nul_chat).encode()),
        (topics.ESCALATIONS_ROUTED, NOT_TEXT),
        # Valid in every respect but one: its conversation id holds a NUL.
        (topics.ESCALATIONS_ROUTED, nul_routed.model_dump_json().encode()),
    ]


Position = tuple[str, int, int]  # topic, partition, offset


async def send_poisons(
    kafka_producer: AIOKafkaProducer, batch: list[Poison], key: bytes
) -> dict[Position, bytes]:
    sent = {}
    for topic, value in batch:
        metadata = await kafka_producer.send_and_wait(topic, value, key=key)
        sent[(topic, metadata.partition, metadata.offset)] = value
    return sent


def dead_letters(
    records: list[ConsumerRecord[bytes, bytes]], reasons: Counter[tuple[str, str]]
) -> dict[str, Counter[Position]]:
    """Per service: how often each source record was dead-lettered (the dead-letter topic is at
    least once: a crash between publishing and committing would copy a record twice).
    ``reasons`` counts (service, error type and, for processing errors, the attempts)."""
    found: dict[str, Counter[Position]] = {}
    for record in records:
        headers = {key: value.decode() for key, value in record.headers or ()}
        error = headers.get("x-error-type", "?")
        if error == "processing_error":
            error += " " + headers.get("x-error", "").split(":", 1)[0]
        reasons[(headers.get("x-service", "?"), error)] += 1
        source = (
            headers["x-source-topic"],
            int(headers["x-source-partition"]),
            int(headers["x-source-offset"]),
        )
        found.setdefault(headers.get("x-service", "?"), Counter())[source] += 1
    return found


async def test_poison_messages_go_to_the_dlq_and_block_nothing(
    chaos_kafka: str,
    chaos_database: str,
    groups: str,
    smtp: SmtpServer,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    plan = traffic(tenant, agent, conversations=40, per_conversation=10, escalate_every=2)
    half = len(plan.messages) // 2
    async with (
        receiving() as receiver,
        pipeline(chaos_kafka, chaos_database, groups, smtp, *SERVICES),
        Lag(chaos_kafka, groups) as lag,
        producer(chaos_kafka) as chat_backend,
    ):
        await configure(chaos_database, tenant, agent, unique, receiver, "escalation.routed")
        dlq_topics = [topics.dlq(topics.CHAT_MESSAGES), topics.dlq(topics.ESCALATIONS_ROUTED)]
        dlq_from = await lag.ends(dlq_topics)
        # Poison first, then good messages on the same partitions (same keys), then more.
        sent: dict[Position, bytes] = {}
        nul: set[UUID] = set()
        for number in range(0, 40, 8):
            conversation = f"{agent}-c{number}"
            sent |= await send_poisons(
                chat_backend, poisons(tenant, agent, conversation, nul), conversation.encode()
            )
        await publish_all(chat_backend, plan.messages[:half])
        for number in range(4, 40, 8):
            conversation = f"{agent}-c{number}"
            sent |= await send_poisons(
                chat_backend, poisons(tenant, agent, conversation, nul), conversation.encode()
            )
        await publish_all(chat_backend, plan.messages[half:])
        # Everything already published: a consumer stuck on a poison message shows as lag.
        await settled(lag, chaos_database, tenant, SERVICES, within=BLOCKED_AT_MOST)
        behind_at_end = await lag.behind(SERVICES)
        reasons: Counter[tuple[str, str]] = Counter()
        dead = dead_letters(await lag.read(dlq_from), reasons)
        result = await outcome(chaos_database, tenant, smtp, receiver)

    expected = plan.expected
    # Which services read each topic (others' consumers may dead-letter too: not counted).
    readers = {
        topics.CHAT_MESSAGES: ("detector",),
        topics.ESCALATIONS_ROUTED: ("queue-api", "notifier", "webhook-dispatcher"),
    }
    poisoned = {
        service: {position for position in sent if position[0] == topic}
        for topic, services in readers.items()
        for service in services
    }
    # queue-api queues the NUL escalations (with U+FFFD): only undecodable records are its
    # poison.
    poisoned["queue-api"] = {position for position, value in sent.items() if value == NOT_TEXT}

    with capsys.disabled():
        sys.stdout.write(
            report(
                "poison messages among good ones",
                {
                    "good chat messages": len(plan.messages),
                    "poison records published (per topic)": Counter(t for t, _p, _o in sent),
                    "  NUL escalations queued by queue-api (U+FFFD)": len(nul),
                    "dead-lettered records (distinct, per service)": {
                        service: len(found) for service, found in dead.items()
                    },
                    "  dead-letter records in all (repeats included)": {
                        service: sum(found.values()) for service, found in dead.items()
                    },
                    "dead-letter reasons (service, type)": dict(reasons),
                    "expected escalations": len(expected),
                    "escalations queued (queue-api rows)": sum(result.queued.values()),
                    "emails received (escalation kind)": sum(result.emails.values()),
                    "webhooks received": sum(result.webhooks.values()),
                    "consumer lag at the end": behind_at_end,
                },
            )
        )
    # Every poison record in the dead-letter topic, for each service that reads it; no good
    # record there, for any service.
    assert {service: set(dead.get(service, ())) for service in poisoned} == poisoned
    assert all(set(found) <= sent.keys() for found in dead.values())
    # Each exactly once: a batch's invalid records are dead-lettered after the batch was
    # handled, so handling it again record by record (a poison record failed it) adds no copy.
    assert all(count == 1 for found in dead.values() for count in found.values())
    # Records that fail without a validation error: a bounded number of attempts each.
    for service in ("detector", "notifier", "webhook-dispatcher"):
        assert reasons[(service, "processing_error failed 3 times")] >= 10
    assert result.queued == Counter(dict.fromkeys(expected | nul, 1))
    recipients = [supervisor.email for supervisor in supervisors(unique)]
    assert result.emails == Counter(
        {(str(escalation), email): 1 for escalation in expected for email in recipients}
    )
    assert result.webhooks == Counter({str(escalation): 1 for escalation in expected})
