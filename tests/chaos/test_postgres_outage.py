"""PostgreSQL unavailable for 20 s while escalations keep arriving on ``escalations.routed``:
queue-api, the notifier and the webhook dispatcher recover on their own, lose nothing, and
never commit a Kafka offset ahead of the write it stands for."""

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from escalator_schemas import topics
from escalator_schemas.events import EscalationRouted
from tests.chaos.counting import outcome, report, settled
from tests.chaos.infra import Server
from tests.chaos.pipeline import Lag, configure, pipeline
from tests.notifier.smtp import SmtpServer
from tests.queue_api.support import routed
from tests.stack import eventually, producer
from tests.webhook_dispatcher.harness import receiving

pytestmark = pytest.mark.integration

SERVICES = ("queue-api", "notifier", "webhook-dispatcher")
OUTAGE_SECONDS = 20.0
RATE = 10  # escalations per second, before, during and after the outage
# The row each service writes for a routed event before it may commit the event's offset.
WRITES = {
    "queue-api": "SELECT escalation_id AS id, created_at AS at FROM escalations"
    " WHERE tenant_id = $1",
    "notifier": "SELECT escalation_id AS id, received_at AS at FROM notifier_escalations"
    " WHERE tenant_id = $1",
    "webhook-dispatcher": "SELECT escalation_id AS id, created_at AS at FROM webhook_deliveries"
    " WHERE tenant_id = $1",
}

Placed = dict[tuple[int, int], UUID]  # (partition, offset) → escalation id


async def publish_routed(
    kafka_producer: AIOKafkaProducer, events: list[EscalationRouted], placed: Placed
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, event in enumerate(events):
        ahead = started + index / RATE - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)  # pacing: this is the traffic's rate, not a wait
        metadata = await kafka_producer.send_and_wait(
            topics.ESCALATIONS_ROUTED,
            event.model_dump_json().encode(),
            key=event.conversation_id.encode(),
        )
        placed[(metadata.partition, metadata.offset)] = event.escalation_id


async def written(database: str, tenant: str) -> dict[str, dict[UUID, datetime]]:
    connection = await asyncpg.connect(database)
    try:
        return {
            service: {row["id"]: row["at"] for row in await connection.fetch(sql, tenant)}
            for service, sql in WRITES.items()
        }
    finally:
        await connection.close()


async def test_postgres_outage_loses_nothing_and_commits_no_offset_early(
    chaos_postgres_server: Server,
    chaos_kafka: str,
    chaos_database: str,
    groups: str,
    smtp: SmtpServer,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chaos_postgres_server.skip_unless_owned("a PostgreSQL server")
    tenant, agent = f"t-{unique}", f"a-{unique}"
    events = [routed(tenant, agent=agent, supervisors=("alice", "bob")) for _ in range(350)]
    placed: Placed = {}
    # Offsets each group had committed on escalations.routed, sampled while the database
    # was down: everything below them must have been written before it came back (a row
    # written later would mean the offset was committed first).
    during: dict[str, dict[TopicPartition, int]] = {service: {} for service in SERVICES}
    async with (
        receiving() as receiver,
        pipeline(chaos_kafka, chaos_database, groups, smtp, *SERVICES) as running,
        Lag(chaos_kafka, groups) as lag,
        producer(chaos_kafka) as router,
    ):
        await configure(chaos_database, tenant, agent, unique, receiver, "escalation.routed")
        publisher = asyncio.create_task(publish_routed(router, events, placed))

        async def some_stored() -> bool:
            return len((await written(chaos_database, tenant))["queue-api"]) >= 30

        await eventually(some_stored, within=60, interval=0.1)
        published_at_outage = len(placed)
        at_outage = {service: await lag.committed(service) for service in SERVICES}
        cpu_before = running.cpu_seconds()
        try:
            await chaos_postgres_server.stopped()
            down_since = time.monotonic()
            while time.monotonic() - down_since < OUTAGE_SECONDS:
                for service in SERVICES:
                    for tp, offset in (await lag.committed(service)).items():
                        if tp.topic == topics.ESCALATIONS_ROUTED:
                            during[service][tp] = max(offset, during[service].get(tp, 0))
                await asyncio.sleep(0.25)  # sampling period of the 20 s outage
        finally:
            cpu_down = running.cpu_seconds()
            back = datetime.now(UTC)
            await chaos_postgres_server.started()
        published_during_outage = len(placed) - published_at_outage
        await publisher
        await settled(lag, chaos_database, tenant, SERVICES, within=180)
        rows = await written(chaos_database, tenant)
        result = await outcome(chaos_database, tenant, smtp, receiver)

    expected = {event.escalation_id for event in events}
    committed_during = {
        service: sum(during[service].values())
        - sum(o for tp, o in at_outage[service].items() if tp.topic == topics.ESCALATIONS_ROUTED)
        for service in SERVICES
    }
    early = {
        service: [
            escalation
            for (partition, offset), escalation in placed.items()
            if offset < during[service].get(TopicPartition(topics.ESCALATIONS_ROUTED, partition), 0)
            and not (escalation in rows[service] and rows[service][escalation] < back)
        ]
        for service in SERVICES
    }
    emails_per_escalation = Counter(escalation for escalation, _to in result.emails)
    with capsys.disabled():
        sys.stdout.write(
            report(
                f"PostgreSQL down for {OUTAGE_SECONDS:.0f} s under {RATE} escalations/s",
                {
                    "escalations published": len(placed),
                    "  of which while the database was down": published_during_outage,
                    "offsets committed once it was going down": committed_during,
                    "CPU seconds used while it was down": {
                        s: round(cpu_down[s] - cpu_before[s], 1) for s in SERVICES
                    },
                    "offsets committed ahead of their write": {s: len(e) for s, e in early.items()},
                    "escalations queued (queue-api rows)": sum(result.queued.values()),
                    "notifier escalations stored": len(rows["notifier"]),
                    "webhook deliveries stored": len(rows["webhook-dispatcher"]),
                    "emails received (escalation kind)": sum(result.emails.values()),
                    "webhooks received": sum(result.webhooks.values()),
                    "  re-sent after the outage (same id)": {
                        "emails": sum(result.emails.values()) - len(result.email_ids),
                        "webhooks": sum(result.webhooks.values()) - len(result.webhook_ids_of),
                    },
                },
            )
        )
    assert published_during_outage > 0
    assert early == {service: [] for service in SERVICES}, {
        service: [(escalation, rows[service].get(escalation), back) for escalation in ids]
        for service, ids in early.items()
    }
    assert result.queued == Counter(dict.fromkeys(expected, 1))
    assert set(rows["notifier"]) == expected
    assert set(rows["webhook-dispatcher"]) == expected
    # Every email and webhook arrived. One the receiver accepted just before the database went
    # away cannot be recorded as sent, and is sent again after it came back: with the same
    # Message-ID or webhook-id, which is how receivers recognise a repeat. Nothing else repeats.
    assert set(emails_per_escalation) == set(map(str, expected))
    assert len(result.email_ids) == 2 * len(expected)
    assert all(len(ids) == 1 for ids in result.email_ids.values())
    assert set(result.webhooks) == set(map(str, expected))
    assert all(len(ids) == 1 for ids in result.webhook_ids_of.values())
