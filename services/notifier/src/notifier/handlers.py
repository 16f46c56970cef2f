"""Wires ``escalations.routed`` and ``escalations.lifecycle`` to the email outbox.

The handlers only plan: they write outbox rows (a redelivered event adds none) and return,
which acknowledges the batch; the sender delivers from the outbox on its own time.
"""

import asyncio
import json
from collections.abc import Sequence

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from pydantic import ValidationError

from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
    decode_records,
)
from escalator_schemas import topics
from escalator_schemas.config import EscalationConfig
from escalator_schemas.events import (
    EscalationRouted,
    EscalationSlaBreached,
    lifecycle_event_adapter,
)
from notifier import repository
from notifier.emails import EmailKind
from notifier.sender import EmailSender
from notifier.service import (
    PlannedEmail,
    escalation_recipients,
    plan_emails,
    reminder_recipients,
)
from notifier.settings import NotifierSettings

SERVICE = "notifier"
log = structlog.get_logger(__name__)

EMAILS_PLANNED = Counter(
    "escalator_notifier_emails_planned", "Emails added to the outbox", ["kind", "environment"]
)

SLA_BREACHED = "escalation.sla_breached"


async def _config(configs: ConfigView, routed: EscalationRouted) -> EscalationConfig | None:
    stored = await configs.at_least(
        routed.tenant_id, routed.agent_id, routed.environment, routed.config_version
    )
    return stored.config if stored else None


def _reminders(
    settings: NotifierSettings,
    routed: EscalationRouted,
    breach: EscalationSlaBreached | repository.StoredBreach,
    config: EscalationConfig | None,
) -> list[PlannedEmail]:
    recipients, unknown = reminder_recipients(routed, breach.offered_to, config)
    if unknown:
        log.warning(
            "reminder recipients without an address",
            escalation_id=str(routed.escalation_id),
            supervisors=unknown,
        )
    return plan_emails(
        EmailKind.SLA_REMINDER,
        routed,
        recipients,
        config=config,
        public_url=settings.public_url,
        sender=settings.sender,
        unclaimed_seconds=breach.unclaimed_seconds,
    )


def _report(planned: Sequence[PlannedEmail], new: list[str], routed: EscalationRouted) -> None:
    for kind in new:
        EMAILS_PLANNED.labels(kind, routed.environment.value).inc()
    for email in planned:
        if email.error is not None:
            log.error(
                "email cannot be sent",
                escalation_id=str(routed.escalation_id),
                supervisor_id=email.supervisor_id,
                error=email.error,
            )
    log.info(
        "emails planned" if planned else "no email: no supervisor to write to",
        escalation_id=str(routed.escalation_id),
        conversation_id=routed.conversation_id,
        emails=[f"{email.kind.value}:{email.supervisor_id}" for email in planned],
        new=len(new),
        unrouted=routed.unrouted,
    )


async def plan_routed(
    pool: Pool,
    configs: ConfigView,
    settings: NotifierSettings,
    events: Sequence[EscalationRouted],
) -> int:
    """Remember each escalation and plan one email per active matching supervisor (and the
    reminders of a breach read before it); returns how many emails are new."""
    found = {routed.escalation_id: await _config(configs, routed) for routed in events}
    new_total = 0
    async with pool.acquire() as connection, connection.transaction():
        await repository.lock_escalations(connection, list(found))
        for routed in events:
            config = found[routed.escalation_id]
            if not await repository.store_escalation(connection, routed):
                # Redelivered: its emails were planned in the transaction that stored it.
                log.info(
                    "routed event seen before",
                    escalation_id=str(routed.escalation_id),
                    conversation_id=routed.conversation_id,
                )
                continue
            # Building MIME messages is CPU work (milliseconds each): off the event loop, so
            # the sender records what the SMTP server accepted without waiting behind it.
            planned = await asyncio.to_thread(
                plan_emails,
                EmailKind.ESCALATION,
                routed,
                escalation_recipients(routed, config),
                config=config,
                public_url=settings.public_url,
                sender=settings.sender,
            )
            for breach in await repository.breaches(connection, routed.escalation_id):
                planned += await asyncio.to_thread(_reminders, settings, routed, breach, config)
            new = await repository.enqueue(connection, planned)
            _report(planned, new, routed)
            new_total += len(new)
    return new_total


async def plan_reminders(
    pool: Pool,
    configs: ConfigView,
    settings: NotifierSettings,
    breaches: Sequence[EscalationSlaBreached],
) -> int:
    """Plan a reminder to every supervisor a breached escalation is offered to or matched;
    a breach of an escalation not yet known waits for its routed event."""
    new_total = 0
    for breach in breaches:
        async with pool.acquire() as connection, connection.transaction():
            await repository.lock_escalations(connection, [breach.escalation_id])
            if not await repository.store_breach(connection, breach):
                continue  # redelivered: handled when first read
            routed = await repository.escalation(connection, breach.escalation_id)
            if routed is None:
                log.info(
                    "sla breach before its routed event; the reminder waits for it",
                    escalation_id=str(breach.escalation_id),
                    conversation_id=breach.conversation_id,
                )
                continue
            config = await _config(configs, routed)
            planned = await asyncio.to_thread(_reminders, settings, routed, breach, config)
            new = await repository.enqueue(connection, planned)
            _report(planned, new, routed)
            new_total += len(new)
    return new_total


def decode_breaches(
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> tuple[list[EscalationSlaBreached], list[Rejected]]:
    """The SLA breaches among lifecycle records, and the records that are not events at all
    or are breaches that do not validate. Other lifecycle events, and event types this
    version does not know, are not the notifier's business: acknowledged, not dead-lettered."""
    breaches: list[EscalationSlaBreached] = []
    rejected: list[Rejected] = []
    for record in records:
        event_type = _event_type(record.value)
        if event_type is not None and event_type != SLA_BREACHED:
            continue
        try:
            event = lifecycle_event_adapter.validate_json(record.value or b"")
        except ValidationError as error:
            reason = "; ".join(
                f"{'.'.join(str(p) for p in detail['loc']) or '(message)'}: {detail['msg']}"
                for detail in error.errors(include_url=False, include_input=False)[:10]
            )
            rejected.append(Rejected(record, reason, "validation_error"))
            continue
        if isinstance(event, EscalationSlaBreached):
            breaches.append(event)
    return breaches, rejected


def _event_type(value: bytes | None) -> str | None:
    try:
        parsed = json.loads(value or b"")
    except ValueError:
        return None
    event_type = parsed.get("event_type") if isinstance(parsed, dict) else None
    return event_type if isinstance(event_type, str) else None


def register(
    broker: KafkaBroker,
    settings: NotifierSettings,
    pool: Pool,
    configs: ConfigView,
    sender: EmailSender,
) -> None:
    async def on_routed(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_ROUTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationRouted)
        with tracing.consumed(SERVICE, ((r, routed.escalation_id) for r, routed in accepted)):
            if accepted and await plan_routed(
                pool, configs, settings, [routed for _record, routed in accepted]
            ):
                sender.wake()
        await dead_letter(broker, SERVICE, rejected)

    async def on_lifecycle(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_LIFECYCLE).inc(len(records))
        breaches, rejected = decode_breaches(records)
        if breaches and await plan_reminders(pool, configs, settings, breaches):
            sender.wake()
        await dead_letter(broker, SERVICE, rejected)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_ROUTED, **batch_subscription(settings, SERVICE))(on_routed)
    broker.subscriber(topics.ESCALATIONS_LIFECYCLE, **batch_subscription(settings, SERVICE))(
        on_lifecycle
    )
