"""The notifier's decisions as plain functions: who is written to, what each email is, and
whether a failed attempt is worth another."""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import aiosmtplib

from escalator_schemas.config import EscalationConfig
from escalator_schemas.events import EscalationRouted
from notifier.emails import EmailKind, Envelope, message_bytes, message_id_for, render
from notifier.language import language_for


@dataclass(frozen=True, slots=True)
class Recipient:
    supervisor_id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Sender:
    """Whom notification emails come from."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True, slots=True)
class PlannedEmail:
    """One row of the outbox: an email to one supervisor about one escalation, built once so
    that every attempt sends the same bytes. ``error`` says why it can never be sent."""

    escalation_id: UUID
    supervisor_id: str
    kind: EmailKind
    tenant_id: str
    agent_id: str
    environment: str
    conversation_id: str
    recipient: Recipient
    language: str
    subject: str
    message_id: str
    message: bytes
    error: str | None = None


def resolve_recipients(
    supervisor_ids: Iterable[str], routed: EscalationRouted, config: EscalationConfig | None
) -> tuple[list[Recipient], list[str]]:
    """The supervisors to write to, each once, with the address the configuration has now
    (else the one they were routed with); and the ids that cannot be written to because
    nothing names them. A supervisor the configuration marks inactive is left out."""
    configured = {supervisor.id: supervisor for supervisor in config.supervisors} if config else {}
    matched = {match.supervisor_id: match for match in routed.matched_supervisors}
    recipients: list[Recipient] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for supervisor_id in supervisor_ids:
        if supervisor_id in seen:
            continue
        seen.add(supervisor_id)
        supervisor = configured.get(supervisor_id)
        if supervisor is not None:
            if supervisor.active:
                recipients.append(Recipient(supervisor.id, supervisor.name, supervisor.email))
        elif (match := matched.get(supervisor_id)) is not None:
            recipients.append(Recipient(match.supervisor_id, match.name, match.email))
        else:
            unknown.append(supervisor_id)
    return recipients, unknown


def escalation_recipients(
    routed: EscalationRouted, config: EscalationConfig | None
) -> list[Recipient]:
    """Every active matching supervisor; nobody when the escalation went unrouted."""
    if routed.unrouted:
        return []
    recipients, _unknown = resolve_recipients(
        (match.supervisor_id for match in routed.matched_supervisors), routed, config
    )
    return recipients


def reminder_recipients(
    routed: EscalationRouted, offered_to: Iterable[str], config: EscalationConfig | None
) -> tuple[list[Recipient], list[str]]:
    """The originally matched supervisors, then those the escalation is now offered to."""
    ids = [match.supervisor_id for match in routed.matched_supervisors] + list(offered_to)
    return resolve_recipients(ids, routed, config)


def plan_emails(
    kind: EmailKind,
    routed: EscalationRouted,
    recipients: Iterable[Recipient],
    *,
    config: EscalationConfig | None,
    public_url: str,
    sender: Sender,
    unclaimed_seconds: int = 0,
    now: datetime | None = None,
) -> list[PlannedEmail]:
    language = language_for(config.summary_language if config else None)
    content = render(kind, routed, language, public_url, unclaimed_seconds)
    created_at = now or datetime.now(UTC)
    planned: list[PlannedEmail] = []
    for recipient in recipients:
        message_id = message_id_for(
            routed.escalation_id, recipient.supervisor_id, kind.value, sender.domain
        )
        envelope = Envelope(
            sender_name=sender.name,
            sender_address=sender.address,
            recipient_name=recipient.name,
            recipient_address=recipient.email,
            message_id=message_id,
            created_at=created_at,
            escalation_id=routed.escalation_id,
            kind=kind.value,
        )
        try:
            message, error = message_bytes(envelope, content), None
        except (ValueError, TypeError) as invalid:
            message, error = b"", f"cannot build the message: {invalid}"
        planned.append(
            PlannedEmail(
                escalation_id=routed.escalation_id,
                supervisor_id=recipient.supervisor_id,
                kind=kind,
                tenant_id=routed.tenant_id,
                agent_id=routed.agent_id,
                environment=routed.environment.value,
                conversation_id=routed.conversation_id,
                recipient=recipient,
                language=language,
                subject=content.subject,
                message_id=message_id,
                message=message,
                error=error,
            )
        )
    return planned


# --- attempts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt failed, and whether trying again later can succeed."""

    transient: bool
    description: str


def classify_failure(error: BaseException, *, connecting: bool = False) -> Failure:
    """Transient: the server is unreachable, slow, or answers 4xx ("try again later"), or the
    connection itself is refused (bad credentials or TLS are the operator's to fix, not the
    email's fault). Permanent: a 5xx answer to this message, or a message the client cannot
    send at all (an address that cannot be encoded)."""
    description = f"{type(error).__name__}: {error}"
    if connecting:
        return Failure(True, "connect: " + description)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        return Failure(bool(codes) and all(400 <= code < 500 for code in codes), description)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return Failure(error.code < 500, f"{error.code} {error.message}")
    if isinstance(error, (OSError, TimeoutError, aiosmtplib.SMTPServerDisconnected)):
        return Failure(True, description)
    if isinstance(error, (ValueError, aiosmtplib.SMTPNotSupported)):
        return Failure(False, description)
    # Anything unforeseen is retried: giving up on an email is the costlier mistake.
    return Failure(True, description)


def retry_delay(
    attempt: int, base_seconds: float, max_seconds: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter after the ``attempt``-th failure (1-based): base, 2 x,
    4 x … capped at ``max_seconds``, each drawn from the upper half of its step so that many
    emails failing together do not come back together."""
    step = min(max_seconds, base_seconds * 2.0 ** max(attempt - 1, 0))
    draw = rng.random() if rng is not None else random.random()  # noqa: S311 - jitter, not secrecy
    return step * (0.5 + 0.5 * draw)
