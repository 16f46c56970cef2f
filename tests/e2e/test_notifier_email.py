"""Issue 7 end to end: a customer's message escalates, is routed, and each matching supervisor
gets one email (and an unmatched one none) on a real SMTP server; the link opens the
escalation in the supervisor UI."""

import json
from collections.abc import Iterator

import pytest

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_schemas import topics
from escalator_schemas.config import Supervisor
from escalator_schemas.ids import escalation_id_for
from notifier.main import create_app as create_notifier
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.notifier.pipeline import PUBLIC_URL, keep, notifier_settings, settled
from tests.notifier.smtp import Received, SmtpServer
from tests.stack import demo_config, eventually, now, producer, publish_config, running

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def test_keyword_escalation_emails_each_matching_supervisor_once(
    kafka: str, database: str, unique: str, smtp: SmtpServer
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    refunds = Supervisor(
        id="rita", name="Rita Refunds", email=f"rita-{unique}@example.com", topics=["refund"]
    )
    anything = Supervisor(id="alex", name="Alex Any", email=f"alex-{unique}@example.com")
    shipping = Supervisor(
        id="sam", name="Sam Shipping", email=f"sam-{unique}@example.com", topics=["shipping"]
    )
    away = Supervisor(id="ada", name="Ada Away", email=f"ada-{unique}@example.com", active=False)
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(supervisors=[refunds, anything, shipping, away], summary_language="en-GB"),
    )
    message_id = f"m-{unique}-1"
    escalation_id = escalation_id_for(tenant, agent, "published", conversation, message_id)
    chat = {
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

    async def both_emails() -> list[Received] | None:
        found = smtp.handler.for_escalation(escalation_id)
        return found if len(found) >= 2 else None

    async with (
        running(
            create_detector(DetectorSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            create_notifier(notifier_settings(kafka, database, smtp.port)),
        ),
        producer(kafka) as send,
    ):
        for _ in range(2):  # the chat backend retries: same message id, same escalation
            await send.send_and_wait(
                topics.CHAT_MESSAGES, json.dumps(chat).encode(), key=conversation.encode()
            )
        emails = await eventually(both_emails, within=60)
        rows = await settled(database, escalation_id, 2)

    keep("e2e", emails)
    assert sorted((row["supervisor_id"], row["status"]) for row in rows) == [
        ("alex", "sent"),
        ("rita", "sent"),
    ]
    assert sorted(m.recipients[0] for m in emails) == [anything.email, refunds.email]
    link = f"{PUBLIC_URL}/queue?escalation={escalation_id}&environment=published"
    for email in emails:
        assert email.subject.startswith("[High] Escalation: Dana Reyes — ")
        assert "refund" in email.subject.lower()
        text = email.part("plain")
        assert "Customer: Dana Reyes" in text
        assert "Urgency: High (Severity: Critical)" in text
        assert link in text
        assert f'href="{link.replace("&", "&amp;")}"' in email.part("html")
