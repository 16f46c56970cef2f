"""A notifier SIGKILLed after the SMTP server accepted an email and before it recorded that:
after a restart every email arrives, and the one in flight arrives twice with the same
Message-ID (SMTP has no idempotency key; the receiver can deduplicate on it)."""

import asyncio
import json
import os
import random
import signal
import time

import pytest

from escalator_schemas.config import Supervisor
from tests.notifier.events import routed_event, supervisor
from tests.notifier.pipeline import (
    keep,
    notifier_settings,
    outbox,
    publish_routed,
    settings_env,
    settled,
)
from tests.notifier.smtp import Received, SmtpServer
from tests.stack import (
    ARTIFACTS,
    ServiceProcess,
    demo_config,
    eventually,
    producer,
    publish_config,
)

pytestmark = pytest.mark.integration

LEASE_SECONDS = 5.0


async def test_kill_between_acceptance_and_record_resends_with_the_same_message_id(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    people = [
        supervisor(name, name.title(), f"{name}-{unique}@example.com")
        for name in ("alice", "bob", "carol")
    ]
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(
            supervisors=[Supervisor(id=p.supervisor_id, name=p.name, email=p.email) for p in people]
        ),
    )
    routed = routed_event(tenant, conversation, people, agent_id=agent)
    settings = notifier_settings(
        kafka,
        database,
        smtp.port,
        lease_seconds=LEASE_SECONDS,
        smtp_timeout_seconds=1.0,
        smtp_connections=1,
    )
    env = settings_env(settings)
    notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
    killed_at: list[float] = []

    def kill_on_first_acceptance(received: Received) -> None:
        # Runs in the SMTP server once it has kept the message, before its 250 goes out.
        if received.escalation_id == str(routed.escalation_id) and not killed_at:
            assert notifier.process is not None
            os.kill(notifier.process.pid, signal.SIGKILL)
            killed_at.append(time.monotonic())

    smtp.handler.on_accept = kill_on_first_acceptance
    try:
        await notifier.start()
        async with producer(kafka) as send:
            await publish_routed(send, routed)

        async def killed() -> bool:
            assert notifier.process is not None
            return notifier.process.poll() is not None

        await eventually(killed, within=30)
        assert notifier.process is not None
        assert notifier.process.returncode == -signal.SIGKILL
        [first] = smtp.handler.for_escalation(routed.escalation_id)
        rows = await outbox(database, routed.escalation_id)
        in_flight = {row["recipient_email"]: row for row in rows}
        # The server has the first email; the outbox does not know.
        assert in_flight[first.recipients[0]]["status"] == "pending"

        notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
        await notifier.start()

        # Every row recorded as sent: the server has had each email at least once.
        rows = await settled(database, routed.escalation_id, 3)
        assert [row["status"] for row in rows] == ["sent"] * 3
        received = smtp.handler.for_escalation(routed.escalation_id)
    finally:
        smtp.handler.on_accept = None
        notifier.stop()

    keep("crash-resend", received)
    by_recipient: dict[str, list[Received]] = {}
    for message in received:
        by_recipient.setdefault(message.recipients[0], []).append(message)
    duplicated = first.recipients[0]
    assert len(by_recipient[duplicated]) == 2
    assert all(len(by_recipient[p.email]) == 1 for p in people if p.email != duplicated)
    original, resent = by_recipient[duplicated]
    assert original.message_id == resent.message_id
    assert original.subject == resent.subject
    assert original.message["Date"] == resent.message["Date"]
    assert original.part("plain") == resent.part("plain")
    assert original.part("html") == resent.part("html")
    # The resend waited for the dead sender's lease to run out.
    assert resent.at - killed_at[0] >= LEASE_SECONDS - 0.5
    row = next(row for row in rows if row["recipient_email"] == duplicated)
    assert row["attempts"] == 2
    assert row["message_id"] == original.message_id


KILLS = 5
ESCALATIONS = 400


async def test_random_kills_while_sending_measure_duplicates(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    """SIGKILL the notifier at random moments while it sends a stream of emails, restart it
    each time, and count what arrives twice. Figures: tests/artifacts/notifier-crashes.json."""
    tenant, agent = f"t-{unique}", f"a-{unique}"
    people = [
        supervisor(name, name.title(), f"{name}-{unique}@example.com") for name in ("alice", "bob")
    ]
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(
            supervisors=[Supervisor(id=p.supervisor_id, name=p.name, email=p.email) for p in people]
        ),
    )
    events = [
        routed_event(tenant, f"c-{unique}-{n}", people, agent_id=agent) for n in range(ESCALATIONS)
    ]
    ours = {str(event.escalation_id) for event in events}
    expected = len(events) * len(people)
    settings = notifier_settings(
        kafka, database, smtp.port, lease_seconds=LEASE_SECONDS, smtp_timeout_seconds=1.0
    )
    env = settings_env(settings)
    rng = random.Random()

    def arrived() -> list[Received]:
        return [m for m in smtp.handler.received if m.escalation_id in ours]

    notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
    delivered_at_kill: list[int] = []
    try:
        await notifier.start()
        async with producer(kafka) as send:
            await publish_routed(send, *events)
        for _ in range(KILLS):
            before = len(arrived())

            async def sending(before: int = before) -> bool:
                count = len(arrived())
                return count > before or count >= expected

            await eventually(sending, within=60, interval=0.01)
            if len(arrived()) >= expected:
                break
            # The experiment itself: a crash at a random moment of a busy sender.
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            assert notifier.process is not None
            notifier.process.send_signal(signal.SIGKILL)
            notifier.process.wait(timeout=10)
            delivered_at_kill.append(len(arrived()))
            notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
            # Not waiting for readiness: its sender starts before its consumers, and the
            # next kill should find it busy, not done.
            notifier.spawn()

        async def everything() -> bool:
            return len({(m.escalation_id, m.recipients[0]) for m in arrived()}) >= expected

        await eventually(everything, within=120)

        async def all_recorded() -> bool:
            rows = [row for e in events for row in await outbox(database, e.escalation_id)]
            return len(rows) == expected and all(row["status"] == "sent" for row in rows)

        await eventually(all_recorded, within=60)
    finally:
        notifier.stop()

    copies: dict[tuple[str, str], list[Received]] = {}
    for message in arrived():
        copies.setdefault((message.escalation_id, message.recipients[0]), []).append(message)
    duplicates = {key: found for key, found in copies.items() if len(found) > 1}
    for found in duplicates.values():
        assert len({m.message_id for m in found}) == 1
        assert len({m.raw for m in found}) == 1
    assert len(copies) == expected
    # At most the emails being sent at the instant of a kill: one per SMTP connection.
    assert len(delivered_at_kill) >= 3
    kills = len(delivered_at_kill)
    assert sum(len(found) - 1 for found in duplicates.values()) <= kills * settings.smtp_connections
    figures = {
        "emails": expected,
        "kills": len(delivered_at_kill),
        "smtp_connections": settings.smtp_connections,
        "delivered_before_each_kill": delivered_at_kill,
        "duplicates": sum(len(found) - 1 for found in duplicates.values()),
        "duplicated_emails": sorted(f"{key[0]} {key[1]}" for key in duplicates),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "notifier-crashes.json").write_text(json.dumps(figures, indent=2))


async def test_graceful_stops_while_sending_cause_no_duplicate(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    """SIGTERM lets the email in hand be recorded and gives the rest back: nothing twice."""
    tenant, agent = f"t-{unique}", f"a-{unique}"
    alice = supervisor("alice", "Alice", f"alice-{unique}@example.com")
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(supervisors=[Supervisor(id="alice", name="Alice", email=alice.email)]),
    )
    events = [routed_event(tenant, f"c-{unique}-{n}", [alice], agent_id=agent) for n in range(300)]
    ours = {str(event.escalation_id) for event in events}
    env = settings_env(notifier_settings(kafka, database, smtp.port))

    def arrived() -> list[Received]:
        return [m for m in smtp.handler.received if m.escalation_id in ours]

    notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
    stops = 0
    try:
        await notifier.start()
        async with producer(kafka) as send:
            await publish_routed(send, *events)
        for _ in range(2):
            before = len(arrived())

            async def sending(before: int = before) -> bool:
                # The restarted notifier may already have sent everything before ``before``
                # was read: that is progress too.
                return len(arrived()) > before or len(arrived()) >= len(events)

            await eventually(sending, within=60, interval=0.01)
            if len(arrived()) >= len(events):
                break
            notifier.stop()
            # uvicorn shuts down gracefully, then re-raises SIGTERM to report how it ended.
            assert '"event": "service stopping"' in notifier.log.read_text()
            stops += 1
            notifier = ServiceProcess("notifier.main", env, "NOTIFIER_PORT")
            await notifier.start()

        async def everything() -> bool:
            return len({m.escalation_id for m in arrived()}) >= len(events)

        await eventually(everything, within=120)
    finally:
        notifier.stop()
    assert stops >= 1
    assert len(arrived()) == len(events)
