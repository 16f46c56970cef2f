"""Issue 7 on the real broker, database and an SMTP server on 127.0.0.1: one clear email to
each matching supervisor, never two; reminders on an SLA breach; nothing for the unrouted."""

from uuid import UUID, uuid4

import asyncpg
import pytest
from prometheus_client import REGISTRY

from escalator_runtime import config_store
from escalator_runtime.db import create_pool
from escalator_schemas import topics
from escalator_schemas.chat import Environment
from escalator_schemas.classification import Urgency
from escalator_schemas.config import Supervisor
from escalator_schemas.events import EscalationClaimed, EscalationRouted, SupervisorMatch
from notifier.main import create_app
from tests.notifier.events import routed_event, sla_breached, supervisor
from tests.notifier.pipeline import (
    PUBLIC_URL,
    escalation_known,
    keep,
    notifier_settings,
    outbox,
    publish,
    publish_routed,
    settled,
)
from tests.notifier.smtp import Received, SmtpServer
from tests.stack import demo_config, eventually, producer, publish_config, running

pytestmark = pytest.mark.integration


def people(unique: str) -> dict[str, Supervisor]:
    return {
        name: Supervisor(
            id=name, name=f"{name.title()} Example", email=f"{name}-{unique}@example.com"
        )
        for name in ("alice", "bob", "carol")
    }


def match(person: Supervisor) -> SupervisorMatch:
    return supervisor(person.id, person.name, person.email)


async def test_one_email_per_matching_supervisor_even_when_redelivered(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=list(staff.values())))
    routed = routed_event(
        tenant,
        conversation,
        [match(staff["alice"]), match(staff["bob"])],
        agent_id=agent,
        customer_name='Dana <b>"Reyes"</b>',
        reason='The customer wrote "refund" & <script>alert(1)</script>',
    )
    settings = notifier_settings(kafka, database, smtp.port)
    async with running(create_app(settings)), producer(kafka) as send:
        # Delivered twice by the broker, as at-least-once allows.
        await publish_routed(send, routed, routed)
        mine = await eventually(lambda: _at_least(smtp, routed.escalation_id, 2), within=30)
        # A third delivery after the emails went out, then a marker on the same partition:
        # once the marker's email is in, the third delivery was handled too.
        marker = routed_event(
            tenant, conversation, [match(staff["carol"])], agent_id=agent, message_id="m-2"
        )
        await publish_routed(send, routed, marker)
        await eventually(lambda: _at_least(smtp, marker.escalation_id, 1), within=30)
        rows = await settled(database, routed.escalation_id, 2)

    mine = smtp.handler.for_escalation(routed.escalation_id)
    keep("routed", mine)
    assert sorted(message.to for message in mine) == [
        f"Alice Example <alice-{unique}@example.com>",
        f"Bob Example <bob-{unique}@example.com>",
    ]
    assert sorted(r for message in mine for r in message.recipients) == [
        f"alice-{unique}@example.com",
        f"bob-{unique}@example.com",
    ]
    link = f"{PUBLIC_URL}/queue?escalation={routed.escalation_id}&environment=published"
    for message in mine:
        assert message.sender == "escalations@escalator.test"
        assert message.message.get_content_type() == "multipart/alternative"
        assert message.subject == (
            '[High] Escalation: Dana <b>"Reyes"</b> — The customer wrote "refund" &'
            " <script>alert(1)</script>"
        )
        text = message.part("plain")
        assert 'Customer: Dana <b>"Reyes"</b>\n' in text
        assert 'Reason: The customer wrote "refund" & <script>alert(1)</script>\n' in text
        assert "Urgency: High (Severity: Critical)\n" in text
        assert link in text
        html = message.part("html")
        assert "<script>" not in html
        assert "Dana &lt;b&gt;&#34;Reyes&#34;&lt;/b&gt;" in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert f'href="{link.replace("&", "&amp;")}"' in html
    assert len({message.message_id for message in mine}) == 2
    assert [(row["supervisor_id"], row["status"], row["attempts"]) for row in rows] == [
        ("alice", "sent", 1),
        ("bob", "sent", 1),
    ]
    assert {row["message_id"] for row in rows} == {message.message_id for message in mine}
    assert all(row["smtp_response"].startswith("2.0.0 Message accepted") for row in rows)


async def test_unrouted_escalation_sends_no_email(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=[staff["alice"]]))
    unrouted = routed_event(tenant, conversation, [], agent_id=agent, message_id="m-1")
    assert unrouted.unrouted
    marker = routed_event(
        tenant, conversation, [match(staff["alice"])], agent_id=agent, message_id="m-2"
    )
    async with running(create_app(notifier_settings(kafka, database, smtp.port))):
        async with producer(kafka) as send:
            await publish_routed(send, unrouted, marker)
        await eventually(lambda: _at_least(smtp, marker.escalation_id, 1), within=30)
        assert await escalation_known(database, unrouted.escalation_id)
        assert await outbox(database, unrouted.escalation_id) == []
    assert smtp.handler.for_escalation(unrouted.escalation_id) == []
    assert [m.to for m in smtp.handler.for_escalation(marker.escalation_id)] != []


async def test_sla_breach_sends_a_reminder_to_matched_and_offered_supervisors(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=list(staff.values())))
    routed = routed_event(
        tenant, conversation, [match(staff["alice"])], agent_id=agent, urgency=Urgency.MEDIUM
    )
    breach = sla_breached(routed, offered_to=["bob", "alice"], unclaimed_seconds=600)
    claimed = EscalationClaimed(
        event_id=uuid4(),
        tenant_id=tenant,
        agent_id=agent,
        environment=Environment.PUBLISHED,
        escalation_id=routed.escalation_id,
        conversation_id=conversation,
        supervisor_id="alice",
    )
    # The breach of a second escalation is read before its routed event: it waits for it.
    early = routed_event(
        tenant, conversation, [match(staff["carol"])], agent_id=agent, message_id="m-2"
    )
    early_breach = sla_breached(early, offered_to=[], unclaimed_seconds=120)
    async with running(create_app(notifier_settings(kafka, database, smtp.port))):
        async with producer(kafka) as send:
            await publish_routed(send, routed)
            await eventually(lambda: _at_least(smtp, routed.escalation_id, 1), within=30)
            await publish(send, topics.ESCALATIONS_LIFECYCLE, breach, breach, claimed)
            await publish(send, topics.ESCALATIONS_LIFECYCLE, early_breach)
            await eventually(lambda: _breach_stored(database, early_breach.event_id), within=30)
            await publish_routed(send, early)
        reminders = await eventually(
            lambda: _at_least(smtp, routed.escalation_id, 2, kind="sla_reminder"), within=30
        )
        late = await eventually(
            lambda: _at_least(smtp, early.escalation_id, 2, kind=None), within=30
        )
        rows = await outbox(database, routed.escalation_id)

    keep("sla-reminder", reminders)
    assert sorted(r for message in reminders for r in message.recipients) == [
        f"alice-{unique}@example.com",
        f"bob-{unique}@example.com",
    ]
    for message in reminders:
        assert message.subject.startswith("[Medium] Unclaimed for 10 min: Dana Reyes — ")
        assert "Still unclaimed after 10 min" in message.part("plain")
        assert "Nobody has claimed this escalation yet" in message.part("html")
    assert sorted((row["kind"], row["supervisor_id"]) for row in rows) == [
        ("escalation", "alice"),
        ("sla_reminder", "alice"),
        ("sla_reminder", "bob"),
    ]
    assert sorted((m.kind, m.recipients[0]) for m in late) == [
        ("escalation", f"carol-{unique}@example.com"),
        ("sla_reminder", f"carol-{unique}@example.com"),
    ]
    # Only one reminder each although the breach came twice.
    assert len(smtp.handler.for_escalation(routed.escalation_id, "sla_reminder")) == 2


async def test_preview_escalation_uses_the_draft_and_its_language(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=[staff["alice"]]))
    pool = await create_pool(database, 2)
    try:
        await config_store.save_draft(
            pool,
            tenant,
            agent,
            demo_config(supervisors=[staff["alice"]], summary_language="de-DE"),
            "test",
        )
    finally:
        await pool.close()
    preview = routed_event(
        tenant,
        conversation,
        [match(staff["alice"])],
        agent_id=agent,
        environment=Environment.PREVIEW,
        customer_name=None,
    )
    published = routed_event(
        tenant, conversation, [match(staff["alice"])], agent_id=agent, message_id="m-2"
    )
    async with running(create_app(notifier_settings(kafka, database, smtp.port))):
        async with producer(kafka) as send:
            await publish_routed(send, preview, published)
        [german] = await eventually(lambda: _at_least(smtp, preview.escalation_id, 1), within=30)
        [english] = await eventually(lambda: _at_least(smtp, published.escalation_id, 1), within=30)
    keep("preview", [german, english])
    assert german.subject == '[Hoch] (Vorschau) Eskalation: The customer wrote "refund".'
    assert "Kunde: Unbekannt" in german.part("plain")
    assert "environment=preview" in german.part("plain")
    assert english.subject.startswith("[High] Escalation: Dana Reyes — ")


async def test_permanent_refusal_is_recorded_and_not_retried(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=list(staff.values())))
    smtp.handler.refused[staff["bob"].email] = "550 5.1.1 Mailbox unavailable"
    routed = routed_event(
        tenant, conversation, [match(staff["alice"]), match(staff["bob"])], agent_id=agent
    )
    marker = routed_event(
        tenant, conversation, [match(staff["carol"])], agent_id=agent, message_id="m-2"
    )
    failed_before = _metric("escalator_notifier_emails_failed_total", reason="permanent")
    async with running(create_app(notifier_settings(kafka, database, smtp.port))):
        async with producer(kafka) as send:
            await publish_routed(send, routed)
            await eventually(lambda: _status(database, routed, "bob", "failed"), within=30)
            # Later work goes through, and the refused email is not tried again meanwhile.
            await publish_routed(send, marker)
            await eventually(lambda: _at_least(smtp, marker.escalation_id, 1), within=30)
        rows = {row["supervisor_id"]: row for row in await outbox(database, routed.escalation_id)}
    assert rows["bob"]["status"] == "failed"
    assert rows["bob"]["attempts"] == 1
    assert rows["bob"]["last_error"].startswith("SMTPRecipientsRefused")
    assert "550" in rows["bob"]["last_error"]
    assert rows["bob"]["sent_at"] is None
    assert rows["alice"]["status"] == "sent"
    assert [m.recipients for m in smtp.handler.for_escalation(routed.escalation_id)] == [
        [staff["alice"].email]
    ]
    assert (
        _metric("escalator_notifier_emails_failed_total", reason="permanent") == failed_before + 1
    )


async def test_server_down_then_refusing_then_recovered_gets_every_email(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=list(staff.values())))
    events = [
        routed_event(
            tenant,
            f"c-{unique}-{number}",
            [match(staff["alice"]), match(staff["bob"])],
            agent_id=agent,
        )
        for number in range(5)
    ]
    server = SmtpServer()  # Not started: connections are refused.
    retried_before = _metric("escalator_notifier_emails_retried_total")
    async with running(create_app(notifier_settings(kafka, database, server.port))):
        async with producer(kafka) as send:
            await publish_routed(send, *events)

        async def all_failed_twice() -> bool:
            rows = [row for event in events for row in await outbox(database, event.escalation_id)]
            return len(rows) == 10 and all(
                row["attempts"] >= 2 and "connect" in (row["last_error"] or "") for row in rows
            )

        await eventually(all_failed_twice, within=30)
        # Back, but busy for a while: "421 try again later" to the next four messages.
        server.handler.data_replies = ["421 4.3.2 Service not available, try later"] * 4
        server.handler.refuse_only = unique
        server.start()
        try:

            async def all_delivered() -> list[Received] | None:
                got = [m for e in events for m in server.handler.for_escalation(e.escalation_id)]
                return got if len(got) >= 10 else None

            delivered = await eventually(all_delivered, within=60)
            rows = [row for e in events for row in await settled(database, e.escalation_id, 2)]
        finally:
            server.stop()

    assert server.handler.refusals == 4
    assert len(delivered) == 10
    assert len({(m.escalation_id, m.recipients[0]) for m in delivered}) == 10
    assert all(row["status"] == "sent" for row in rows)
    assert all(row["attempts"] >= 3 for row in rows)
    assert sum(row["attempts"] for row in rows) >= 10 * 3 + 4
    assert _metric("escalator_notifier_emails_retried_total") >= retried_before + 24


async def test_gives_up_after_max_attempts_of_transient_failures(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    staff = people(unique)
    await publish_config(database, tenant, agent, demo_config(supervisors=[staff["alice"]]))
    routed = routed_event(tenant, f"c-{unique}", [match(staff["alice"])], agent_id=agent)
    nowhere = SmtpServer()  # never started
    gave_up_before = _metric("escalator_notifier_emails_failed_total", reason="gave_up")
    settings = notifier_settings(kafka, database, nowhere.port, max_attempts=3)
    async with running(create_app(settings)), producer(kafka) as send:
        await publish_routed(send, routed)
        [row] = await settled(database, routed.escalation_id, 1)
    assert row["status"] == "failed"
    assert row["attempts"] == 3
    assert row["last_error"].startswith("connect: ")
    assert _metric("escalator_notifier_emails_failed_total", reason="gave_up") >= gave_up_before + 1


# --- probes ----------------------------------------------------------------------------------


async def _at_least(
    smtp: SmtpServer, escalation_id: object, count: int, kind: str | None = "escalation"
) -> list[Received] | None:
    found = smtp.handler.for_escalation(escalation_id, kind)
    return found if len(found) >= count else None


async def _status(database: str, routed: EscalationRouted, supervisor_id: str, status: str) -> bool:
    rows = await outbox(database, routed.escalation_id)
    return any(r["supervisor_id"] == supervisor_id and r["status"] == status for r in rows)


async def _breach_stored(database: str, event_id: UUID) -> bool:
    connection = await asyncpg.connect(database)
    try:
        return bool(
            await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM notifier_sla_breaches WHERE event_id = $1)",
                event_id,
            )
        )
    finally:
        await connection.close()


def _metric(name: str, **labels: str) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
