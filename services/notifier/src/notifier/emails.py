"""What a notification email says, and the MIME message it travels as. Plain functions.

Every user-provided value (customer name, reason, category) reaches the HTML part only
through Jinja's autoescaping, and headers only after their line breaks are folded away.
"""

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from enum import StrEnum
from urllib.parse import urlencode
from uuid import UUID, uuid5

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from escalator_schemas.chat import Environment as ChatEnvironment
from escalator_schemas.classification import Urgency
from escalator_schemas.events import EscalationFacts
from escalator_schemas.ids import ESCALATOR_NAMESPACE
from notifier.language import catalogue

SUBJECT_REASON_CHARS = 60
SUBJECT_NAME_CHARS = 40

_ACCENT = {
    Urgency.LOW: "#57606a",
    Urgency.MEDIUM: "#9a6700",
    Urgency.HIGH: "#bc4c00",
    Urgency.CRITICAL: "#cf222e",
}

_templates = Environment(
    loader=PackageLoader("notifier", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class EmailKind(StrEnum):
    """Why a supervisor is written to: a new escalation, or one nobody claimed in time."""

    ESCALATION = "escalation"
    SLA_REMINDER = "sla_reminder"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    """``value`` with every run of whitespace (line breaks included) folded to one space."""
    return " ".join(value.split())


def shorten(value: str, limit: int) -> str:
    value = one_line(value)
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def escalation_link(public_url: str, escalation_id: UUID, environment: ChatEnvironment) -> str:
    """Where the supervisor UI shows the escalation."""
    query = urlencode({"escalation": str(escalation_id), "environment": environment.value})
    return f"{public_url.rstrip('/')}/queue?{query}"


def customer_name(escalation: EscalationFacts) -> str | None:
    name = escalation.customer.name if escalation.customer else None
    return one_line(name) if name and name.strip() else None


def subject_line(
    kind: EmailKind,
    escalation: EscalationFacts,
    language: str,
    unclaimed_minutes: int = 0,
) -> str:
    """``[High] Escalation: Dana Reyes — The customer wrote "refund"…``; preview escalations
    say so right after the urgency."""
    words = catalogue(language)
    parts = [f"[{words.urgency[escalation.urgency]}]"]
    if escalation.environment is ChatEnvironment.PREVIEW:
        parts.append(words.preview)
    if kind is EmailKind.SLA_REMINDER:
        parts.append(words.subject_reminder.format(minutes=unclaimed_minutes) + ":")
    else:
        parts.append(words.subject_escalation + ":")
    name = customer_name(escalation)
    if name:
        parts.extend([shorten(name, SUBJECT_NAME_CHARS), "—"])
    parts.append(shorten(escalation.reason, SUBJECT_REASON_CHARS))
    return " ".join(parts)


def render(
    kind: EmailKind,
    escalation: EscalationFacts,
    language: str,
    public_url: str,
    unclaimed_seconds: int = 0,
) -> RenderedEmail:
    """The subject and the plain-text and HTML bodies of one email."""
    words = catalogue(language)
    minutes = max(1, round(unclaimed_seconds / 60)) if unclaimed_seconds else 0
    reminder = kind is EmailKind.SLA_REMINDER
    subject = subject_line(kind, escalation, language, minutes)
    context = {
        "t": words,
        "language": language,
        "subject": subject,
        "heading": (
            words.heading_reminder.format(minutes=minutes) if reminder else words.heading_escalation
        ),
        "intro": words.intro_reminder if reminder else words.intro_escalation,
        "preview_note": (
            words.preview_note if escalation.environment is ChatEnvironment.PREVIEW else None
        ),
        "customer": customer_name(escalation),
        "reason": escalation.reason,
        "urgency": words.urgency[escalation.urgency],
        "severity": words.severity[escalation.severity],
        "category": escalation.category,
        "accent": _ACCENT[escalation.urgency],
        "link": escalation_link(public_url, escalation.escalation_id, escalation.environment),
    }
    return RenderedEmail(
        subject=subject,
        text=_templates.get_template("escalation.txt").render(context),
        html=_templates.get_template("escalation.html").render(context),
    )


def message_id_for(escalation_id: UUID, supervisor_id: str, kind: str, domain: str) -> str:
    """The same for every attempt at one email, so a resend after a crash is recognisably the
    same message to the receiving side."""
    token = uuid5(ESCALATOR_NAMESPACE, f"email/{escalation_id}/{supervisor_id}/{kind}")
    return f"<{token}@{domain}>"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who an email is from and to, and the headers that identify it."""

    sender_name: str
    sender_address: str
    recipient_name: str
    recipient_address: str
    message_id: str
    created_at: datetime
    escalation_id: UUID
    kind: str


def mime_message(envelope: Envelope, content: RenderedEmail) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML preferred by capable readers.

    Raises ``ValueError`` for an address that cannot be written into a header.
    """
    message = EmailMessage()
    message["From"] = Address(one_line(envelope.sender_name), addr_spec=envelope.sender_address)
    message["To"] = Address(one_line(envelope.recipient_name), addr_spec=envelope.recipient_address)
    message["Subject"] = one_line(content.subject)
    message["Message-ID"] = envelope.message_id
    message["Date"] = format_datetime(envelope.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Escalator-Escalation-Id"] = str(envelope.escalation_id)
    message["X-Escalator-Kind"] = envelope.kind
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


def message_bytes(envelope: Envelope, content: RenderedEmail) -> bytes:
    """The message as it goes over SMTP (CRLF line ends)."""
    return mime_message(envelope, content).as_bytes(policy=SMTP_POLICY)
