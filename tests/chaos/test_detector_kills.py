"""5,000 chat messages across 200 conversations while the detector is SIGKILLed three times
and restarted: every expected escalation is queued, emailed and delivered as a webhook exactly
once — none lost, none doubled — whatever the detector replays after each kill."""

import asyncio
import contextlib
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from escalator_schemas import topics
from escalator_schemas.events import EscalationDetected
from tests.chaos.counting import outcome, report, settled
from tests.chaos.pipeline import Lag, configure, pipeline, supervisors
from tests.chaos.traffic import Publishing, publish_steadily, traffic
from tests.notifier.smtp import SmtpServer
from tests.stack import ServiceProcess, eventually, producer
from tests.webhook_dispatcher.harness import receiving

pytestmark = pytest.mark.integration


@asynccontextmanager
async def watching(kafka: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer at the end of ``topic`` that fetches as soon as a record is there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, fetch_max_wait_ms=5)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(6)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        yield consumer
    finally:
        await consumer.stop()


async def ignored_duplicates(detector: ServiceProcess) -> int:
    """Redelivered chat messages this detector process recognised and ignored (its metric)."""
    return int(await detector.metric("escalator_detector_duplicates_total"))


async def next_escalation(watch: AIOKafkaConsumer, tenant: str) -> None:
    async def published() -> bool:
        batches = await watch.getmany(timeout_ms=50)
        return any(tenant.encode() in (r.value or b"") for rs in batches.values() for r in rs)

    await eventually(published, within=10, interval=0)


SERVICES = ("detector", "router", "queue-api", "notifier", "webhook-dispatcher")
KILLS = 3
RATE = 250  # chat messages per second
STRETCH = 1250


async def test_detector_killed_three_times_loses_and_doubles_nothing(
    chaos_kafka: str,
    chaos_database: str,
    groups: str,
    smtp: SmtpServer,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    plan = traffic(tenant, agent, conversations=200, per_conversation=25, escalate_every=4)
    assert len(plan.messages) == 5000
    assert len(plan.triggers) == 50
    progress = Publishing()
    killed_at: list[tuple[int, int]] = []  # (messages done, messages published)
    redelivered = 0
    async with (
        receiving() as receiver,
        pipeline(chaos_kafka, chaos_database, groups, smtp, *SERVICES) as running,
        Lag(chaos_kafka, groups) as lag,
        producer(chaos_kafka) as chat_backend,
        watching(chaos_kafka, topics.ESCALATIONS_DETECTED) as watch,
    ):
        await configure(chaos_database, tenant, agent, unique, receiver, "escalation.detected")

        async def processed() -> int:
            committed = await lag.committed("detector")
            return sum(o for tp, o in committed.items() if tp.topic == topics.CHAT_MESSAGES)

        start = await processed()
        detected_from = await lag.ends([topics.ESCALATIONS_DETECTED])
        # Four stretches of 1,250 messages; in each of the first three, once the detector is at
        # work, it is killed right after it published an escalation (before it saved its state
        # and committed the batch, if the kill is quick enough). The chat backend goes on
        # publishing the stretch while the detector is down; the next stretch begins once the
        # detector is back, so every kill falls in the middle of the stream, however long a
        # restart takes on a busy machine.
        working_from = start
        for stretch in range(KILLS + 1):
            messages = plan.messages[stretch * STRETCH : (stretch + 1) * STRETCH]
            publisher = asyncio.create_task(
                publish_steadily(chat_backend, messages, rate=RATE, progress=progress)
            )
            if stretch < KILLS:

                async def at_work(since: int = working_from) -> bool:
                    return await processed() > since

                await eventually(at_work, within=120, interval=0.02)
                redelivered += await ignored_duplicates(running.processes["detector"])
                with contextlib.suppress(TimeoutError):
                    await next_escalation(watch, tenant)
                running.kill("detector")
                killed_at.append((await processed() - start, progress.sent))
                await publisher  # while the detector is down
                await running.restart("detector")
                working_from = await processed()
            await publisher
        await settled(lag, chaos_database, tenant, SERVICES, within=180)
        redelivered += await ignored_duplicates(running.processes["detector"])
        result = await outcome(chaos_database, tenant, smtp, receiver)
        ours = [
            EscalationDetected.model_validate_json(record.value)
            for record in await lag.read(detected_from)
            if record.value and tenant.encode() in record.value
        ]
        behind_at_end = await lag.behind(SERVICES)

    expected = plan.expected
    detected_per_escalation = Counter(event.escalation_id for event in ours)
    with capsys.disabled():
        sys.stdout.write(
            report(
                "detector SIGKILLed 3 times under 5,000 chat messages",
                {
                    "chat messages published": progress.sent,
                    "sends retried by the chat backend": progress.failures,
                    "detector kills (messages done, published)": killed_at,
                    "expected escalations": len(expected),
                    "redelivered messages the detector had applied": redelivered,
                    "escalation.detected records on the topic": len(ours),
                    "  of which replays after a kill": len(ours) - len(detected_per_escalation),
                    "escalations queued (queue-api rows)": sum(result.queued.values()),
                    "emails received (escalation kind)": sum(result.emails.values()),
                    "webhooks received": sum(result.webhooks.values()),
                    "consumer lag at the end": behind_at_end,
                },
            )
        )
    assert progress.sent == len(plan.messages)
    assert len(killed_at) == KILLS
    assert all(published < len(plan.messages) for _done, published in killed_at)  # mid-stream
    # No loss: every expected escalation everywhere; no duplicate: each exactly once.
    assert set(detected_per_escalation) == expected
    recipients = [supervisor.email for supervisor in supervisors(unique)]
    result.assert_each_exactly_once(expected, plan.triggers, recipients)
