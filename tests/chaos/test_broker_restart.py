"""The Kafka broker stopped and started again in the middle of a chat stream: the chat
backend's producer, and every service's consumers and producers, recover on their own, and
every expected escalation arrives exactly once at each end."""

import asyncio
import sys
import time

import pytest

from tests.chaos.counting import outcome, report, settled
from tests.chaos.infra import Server
from tests.chaos.pipeline import Lag, configure, pipeline, supervisors
from tests.chaos.traffic import Publishing, chat_backend, publish_steadily, traffic
from tests.notifier.smtp import SmtpServer
from tests.stack import eventually
from tests.webhook_dispatcher.harness import receiving

pytestmark = pytest.mark.integration

SERVICES = ("detector", "router", "queue-api", "notifier", "webhook-dispatcher")


async def test_broker_restart_mid_stream_loses_nothing(
    chaos_kafka_server: Server,
    chaos_kafka: str,
    chaos_database: str,
    groups: str,
    smtp: SmtpServer,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chaos_kafka_server.skip_unless_owned("a broker")
    tenant, agent = f"t-{unique}", f"a-{unique}"
    plan = traffic(tenant, agent, conversations=60, per_conversation=20, escalate_every=4)
    progress = Publishing()
    async with (
        receiving() as receiver,
        pipeline(chaos_kafka, chaos_database, groups, smtp, *SERVICES),
        chat_backend(chaos_kafka) as backend,
    ):
        await configure(chaos_database, tenant, agent, unique, receiver, "escalation.routed")
        publisher = asyncio.create_task(
            publish_steadily(backend, plan.messages, rate=100, progress=progress)
        )

        async def third_published() -> bool:
            return progress.sent >= len(plan.messages) // 3

        await eventually(third_published, within=60, interval=0.05)
        went_down = time.monotonic()
        await chaos_kafka_server.stopped()
        sent_while_stopping = progress.sent
        await chaos_kafka_server.started()
        downtime = time.monotonic() - went_down
        await publisher
        async with Lag(chaos_kafka, groups) as lag:
            await settled(lag, chaos_database, tenant, SERVICES, within=180)
            behind_at_end = await lag.behind(SERVICES)
        result = await outcome(chaos_database, tenant, smtp, receiver)

    expected = plan.expected
    with capsys.disabled():
        sys.stdout.write(
            report(
                "Kafka broker stopped and restarted mid-stream",
                {
                    "chat messages published": progress.sent,
                    "published when the broker went down": sent_while_stopping,
                    "broker down (stop + start), seconds": round(downtime, 1),
                    "sends the chat backend had to repeat": progress.failures,
                    "expected escalations": len(expected),
                    "escalations queued (queue-api rows)": sum(result.queued.values()),
                    "emails received (escalation kind)": sum(result.emails.values()),
                    "webhooks received": sum(result.webhooks.values()),
                    "consumer lag at the end": behind_at_end,
                },
            )
        )
    assert progress.sent == len(plan.messages)
    assert sent_while_stopping < len(plan.messages)  # the broker really went away mid-stream
    recipients = [supervisor.email for supervisor in supervisors(unique)]
    result.assert_each_exactly_once(expected, plan.triggers, recipients)
