"""Rendering of notification emails: languages, escaping, missing customer, subject, MIME."""

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

import pytest

from escalator_schemas.chat import Environment
from escalator_schemas.classification import Urgency
from notifier.emails import (
    EmailKind,
    Envelope,
    escalation_link,
    message_id_for,
    mime_message,
    render,
    shorten,
    subject_line,
)
from notifier.language import language_for
from tests.notifier.events import routed_event, supervisor

ALICE = supervisor("alice", "Alice Doe", "alice@example.com")
URL = "https://escalator.example.com/"


def test_subject_names_urgency_customer_and_reason() -> None:
    routed = routed_event("t", "c", [ALICE])
    assert (
        subject_line(EmailKind.ESCALATION, routed, "en")
        == '[High] Escalation: Dana Reyes — The customer wrote "refund".'
    )


def test_subject_is_short_and_one_line_however_long_the_reason() -> None:
    reason = "The customer said\r\nBcc: victim@example.com " + "very " * 60 + "angry"
    routed = routed_event("t", "c", [ALICE], reason=reason, customer_name="A\nB " + "x" * 150)
    subject = subject_line(EmailKind.ESCALATION, routed, "en")
    assert "\n" not in subject
    assert "\r" not in subject
    assert len(subject) <= 130
    assert subject.endswith("…")
    assert subject.startswith("[High] Escalation: A B x")


def test_subject_without_customer_name() -> None:
    routed = routed_event("t", "c", [ALICE], customer_name=None, urgency=Urgency.LOW)
    assert subject_line(EmailKind.ESCALATION, routed, "en") == (
        '[Low] Escalation: The customer wrote "refund".'
    )


def test_blank_customer_name_counts_as_unknown() -> None:
    routed = routed_event("t", "c", [ALICE], customer_name="   ")
    content = render(EmailKind.ESCALATION, routed, "en", URL)
    assert "Customer: Not known" in content.text
    assert "<em>Not known</em>" in content.html
    assert "—" not in content.subject


def test_preview_escalations_say_so() -> None:
    routed = routed_event("t", "c", [ALICE], environment=Environment.PREVIEW)
    content = render(EmailKind.ESCALATION, routed, "en", URL)
    assert content.subject.startswith("[High] (preview) Escalation: Dana Reyes")
    assert "preview conversation" in content.text
    assert "environment=preview" in content.text


def test_reminder_subject_and_body() -> None:
    routed = routed_event("t", "c", [ALICE], urgency=Urgency.CRITICAL)
    content = render(EmailKind.SLA_REMINDER, routed, "en", URL, unclaimed_seconds=372)
    assert content.subject.startswith("[Critical] Unclaimed for 6 min: Dana Reyes — ")
    assert "Still unclaimed after 6 min" in content.text
    assert "Nobody has claimed this escalation yet" in content.html


def test_text_part_has_every_fact_and_the_link() -> None:
    routed = routed_event("t", "c", [ALICE])
    content = render(EmailKind.ESCALATION, routed, "en", URL)
    link = (
        f"https://escalator.example.com/queue?escalation={routed.escalation_id}"
        "&environment=published"
    )
    assert "Customer: Dana Reyes\n" in content.text
    assert 'Reason: The customer wrote "refund".\n' in content.text
    assert "Urgency: High (Severity: Critical)\n" in content.text
    assert "Category: refund\n" in content.text
    assert link + "\n" in content.text
    assert f'href="{link.replace("&", "&amp;")}"' in content.html


def test_every_user_provided_text_is_escaped_in_html() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    routed = routed_event(
        "t", "c", [ALICE], customer_name=hostile, reason=f"Reason {hostile} & more"
    )
    content = render(EmailKind.ESCALATION, routed, "en", URL)
    assert "<script>" not in content.html
    assert "<img" not in content.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in content.html
    assert "Reason &lt;script&gt;" in content.html
    assert "&amp; more" in content.html
    # The plain-text part shows the text as written.
    assert f"Reason {hostile} & more" in content.text


@pytest.mark.parametrize(
    ("tag", "language", "words"),
    [
        ("en", "en", ["A conversation needs a human", "Customer:", "High", "Open the escalation"]),
        ("es-419", "es", ["Una conversación necesita a una persona", "Cliente:", "Alta"]),
        ("de-AT", "de", ["Ein Gespräch braucht einen Menschen", "Kunde:", "Hoch", "öffnen"]),
        ("fr", "fr", ["Une conversation a besoin d'un humain", "Client:", "Haute"]),
        ("pt-BR", "pt", ["Uma conversa precisa de uma pessoa", "Cliente:", "Alta"]),
        ("ja", "en", ["A conversation needs a human", "Customer:"]),
        ("zz-Latn", "en", ["A conversation needs a human"]),
    ],
)
def test_language_follows_summary_language_with_english_fallback(
    tag: str, language: str, words: list[str]
) -> None:
    assert language_for(tag) == language
    routed = routed_event("t", "c", [ALICE])
    content = render(EmailKind.ESCALATION, routed, language, URL)
    for word in words:
        assert word in content.text
    assert f'<html lang="{language}">' in content.html


def test_subject_is_translated() -> None:
    routed = routed_event("t", "c", [ALICE], environment=Environment.PREVIEW)
    assert subject_line(EmailKind.ESCALATION, routed, "es").startswith(
        "[Alta] (vista previa) Escalación: Dana Reyes — "
    )
    assert subject_line(EmailKind.SLA_REMINDER, routed, "de", 7).startswith(
        "[Hoch] (Vorschau) Seit 7 Min. nicht übernommen: Dana Reyes — "
    )


def test_link_is_url_encoded() -> None:
    escalation = UUID("29116d69-be80-5ecd-9e82-64576b862a36")
    assert (
        escalation_link("http://127.0.0.1:8000", escalation, Environment.PUBLISHED)
        == "http://127.0.0.1:8000/queue?escalation=29116d69-be80-5ecd-9e82-64576b862a36"
        "&environment=published"
    )


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("one two three four five six", 12) == "one two…"
    assert shorten("short", 12) == "short"


def test_message_id_is_deterministic_per_escalation_supervisor_and_kind() -> None:
    escalation = UUID("29116d69-be80-5ecd-9e82-64576b862a36")
    first = message_id_for(escalation, "alice", "escalation", "example.com")
    assert first == message_id_for(escalation, "alice", "escalation", "example.com")
    assert first.startswith("<")
    assert first.endswith("@example.com>")
    assert first != message_id_for(escalation, "bob", "escalation", "example.com")
    assert first != message_id_for(escalation, "alice", "sla_reminder", "example.com")


def test_mime_message_is_multipart_alternative_with_fixed_headers() -> None:
    routed = routed_event("t", "c", [ALICE], customer_name='Zoë "Z" O\'Neil')
    content = render(EmailKind.ESCALATION, routed, "fr", URL)
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    envelope = Envelope(
        sender_name="Escalator",
        sender_address="escalations@example.com",
        recipient_name='Alice "Ali" Doe',
        recipient_address="alice@example.com",
        message_id="<fixed@example.com>",
        created_at=created,
        escalation_id=routed.escalation_id,
        kind="escalation",
    )
    raw = mime_message(envelope, content).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == "<fixed@example.com>"
    assert parsed["Date"] == "Sun, 01 Mar 2026 12:00:00 +0000"
    assert parsed["To"].addresses[0].display_name == 'Alice "Ali" Doe'
    assert parsed["To"].addresses[0].addr_spec == "alice@example.com"
    assert parsed["Subject"] == content.subject
    assert parsed["X-Escalator-Escalation-Id"] == str(routed.escalation_id)
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == content.text
    assert html.get_content() == content.html
    assert "Zoë &#34;Z&#34; O&#39;Neil" in html.get_content()
