"""Who is written to, and which failed attempts are tried again."""

import email
import email.policy
import random

import aiosmtplib
import pytest

from escalator_schemas.config import EscalationConfig, Supervisor
from notifier.emails import EmailKind
from notifier.service import (
    Recipient,
    Sender,
    classify_failure,
    escalation_recipients,
    plan_emails,
    reminder_recipients,
    retry_delay,
)
from tests.notifier.events import routed_event, supervisor

ALICE = supervisor("alice", "Alice Doe", "alice@example.com")
BOB = supervisor("bob", "Bob Roe", "bob@example.com")


def config(*supervisors: Supervisor, language: str = "en") -> EscalationConfig:
    return EscalationConfig(supervisors=list(supervisors), summary_language=language)


def test_every_matched_supervisor_once() -> None:
    routed = routed_event("t", "c", [ALICE, BOB, ALICE])
    assert escalation_recipients(routed, None) == [
        Recipient("alice", "Alice Doe", "alice@example.com"),
        Recipient("bob", "Bob Roe", "bob@example.com"),
    ]


def test_unrouted_escalation_writes_to_nobody() -> None:
    assert escalation_recipients(routed_event("t", "c", []), None) == []
    flagged = routed_event("t", "c", [ALICE], unrouted=True)
    assert escalation_recipients(flagged, None) == []


def test_supervisor_deactivated_since_routing_is_not_written_to() -> None:
    routed = routed_event("t", "c", [ALICE, BOB])
    current = config(
        Supervisor(id="alice", name="Alice Doe", email="alice@new.example.com"),
        Supervisor(id="bob", name="Bob Roe", email="bob@example.com", active=False),
    )
    assert escalation_recipients(routed, current) == [
        Recipient("alice", "Alice Doe", "alice@new.example.com")
    ]


def test_reminder_goes_to_matched_and_offered_supervisors() -> None:
    routed = routed_event("t", "c", [ALICE])
    current = config(
        Supervisor(id="alice", name="Alice Doe", email="alice@example.com"),
        Supervisor(id="carol", name="Carol Poe", email="carol@example.com"),
    )
    recipients, unknown = reminder_recipients(routed, ["carol", "alice", "ghost"], current)
    assert [recipient.supervisor_id for recipient in recipients] == ["alice", "carol"]
    assert unknown == ["ghost"]


SENDER = Sender("Escalator", "escalations@example.com")


def test_planned_emails_are_whole_messages_in_the_agents_summary_language() -> None:
    routed = routed_event("t", "c", [ALICE, BOB])
    planned = plan_emails(
        EmailKind.ESCALATION,
        routed,
        escalation_recipients(routed, None),
        config=config(language="pt-BR"),
        public_url="http://127.0.0.1:8000",
        sender=SENDER,
    )
    assert [email.language for email in planned] == ["pt", "pt"]
    assert planned[0].subject.startswith("[Alta] Escalonamento: Dana Reyes")
    assert planned[0].message_id != planned[1].message_id
    assert planned[0].message_id.endswith("@example.com>")
    assert {email.kind for email in planned} == {EmailKind.ESCALATION}
    assert all(email.error is None for email in planned)
    parsed = email.message_from_bytes(planned[1].message, policy=email.policy.default)
    assert parsed["To"] == "Bob Roe <bob@example.com>"
    assert parsed["From"] == "Escalator <escalations@example.com>"
    assert parsed["Message-ID"] == planned[1].message_id
    assert b"\r\n" in planned[1].message


def test_an_address_that_cannot_be_written_is_planned_as_failed() -> None:
    broken = supervisor("mallory", "Mallory", "mallory@exa mple.com\r\nBcc: x@y.z")
    routed = routed_event("t", "c", [ALICE, broken])
    planned = plan_emails(
        EmailKind.ESCALATION,
        routed,
        escalation_recipients(routed, None),
        config=None,
        public_url="http://127.0.0.1:8000",
        sender=SENDER,
    )
    assert planned[0].error is None
    assert planned[1].error is not None
    assert planned[1].message == b""


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (aiosmtplib.SMTPServerDisconnected("gone"), True),
        (aiosmtplib.SMTPReadTimeoutError("slow"), True),
        (aiosmtplib.SMTPDataError(421, "Service not available, closing channel"), True),
        (aiosmtplib.SMTPDataError(451, "Requested action aborted: local error"), True),
        (aiosmtplib.SMTPSenderRefused(452, "Insufficient storage", "a@b.c"), True),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "Mailbox busy", "a@b.c")]
            ),
            True,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "Mailbox unavailable", "a@b.c")]
            ),
            False,
        ),
        (aiosmtplib.SMTPDataError(554, "Transaction failed"), False),
        (aiosmtplib.SMTPSenderRefused(553, "Sender not allowed", "a@b.c"), False),
        (aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported"), False),
        (ValueError("address cannot be encoded"), False),
        (RuntimeError("something unforeseen"), True),
    ],
)
def test_failure_classification(error: Exception, transient: bool) -> None:
    assert classify_failure(error).transient is transient


def test_a_refused_session_is_retried_even_with_a_5xx() -> None:
    # Bad credentials or TLS are the operator's to fix; the email is not at fault.
    refused = aiosmtplib.SMTPAuthenticationError(535, "Authentication failed")
    assert classify_failure(refused, connecting=True).transient
    assert classify_failure(refused).transient is False


def test_failure_description_carries_the_smtp_reply() -> None:
    failure = classify_failure(aiosmtplib.SMTPDataError(550, "5.1.1 Mailbox unavailable"))
    assert failure.description == "550 5.1.1 Mailbox unavailable"


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [retry_delay(attempt, 5.0, 600.0, rng) for attempt in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        step = min(600.0, 5.0 * 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
    assert max(delays) <= 600.0
    assert delays[5] > delays[0] * 4


def test_retry_delays_of_simultaneous_failures_spread_out() -> None:
    rng = random.Random(1)
    delays = {round(retry_delay(3, 5.0, 600.0, rng), 3) for _ in range(50)}
    assert len(delays) > 40
