"""What the chaos scenarios count at each end of the pipeline, and when they may count it."""

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from tests.chaos.pipeline import Lag
from tests.notifier.smtp import SmtpServer
from tests.stack import eventually
from tests.webhook_dispatcher.harness import Receiver


@dataclass(frozen=True)
class Outcome:
    """What reached each end of the pipeline, for one tenant."""

    queued: Counter[UUID]  # escalation id → rows in queue-api's escalations table
    conversations: Counter[str]  # conversation → escalations queued for it
    emails: Counter[tuple[str, str]]  # (escalation id, recipient) → emails received
    webhooks: Counter[str]  # escalation id → webhook requests received
    webhook_ids: Counter[str]  # webhook-id header → requests received
    # Re-sends keep their id (Message-ID, webhook-id), so a receiver can drop them.
    email_ids: dict[tuple[str, str], set[str]]  # (escalation id, recipient) → Message-IDs
    webhook_ids_of: dict[str, set[str]]  # escalation id → webhook-ids

    def assert_each_exactly_once(
        self, expected: set[UUID], conversations: Iterable[str], recipients: Iterable[str]
    ) -> None:
        """No loss, no duplicate: every expected escalation queued once (one per triggering
        conversation), emailed once to each recipient, delivered once as a webhook, and no
        webhook sent twice."""
        assert self.queued == Counter(dict.fromkeys(expected, 1))
        assert self.conversations == Counter(dict.fromkeys(conversations, 1))
        emails = {(str(escalation), email) for escalation in expected for email in recipients}
        assert self.emails == Counter(dict.fromkeys(emails, 1))
        assert self.webhooks == Counter({str(escalation): 1 for escalation in expected})
        assert all(count == 1 for count in self.webhook_ids.values())


async def outcome(database: str, tenant: str, smtp: SmtpServer, receiver: Receiver) -> Outcome:
    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch(
            "SELECT escalation_id, conversation_id FROM escalations WHERE tenant_id = $1", tenant
        )
    finally:
        await connection.close()
    bodies = [json.loads(request.body) for request in receiver.requests]
    email_ids: dict[tuple[str, str], set[str]] = {}
    for message in smtp.handler.received:
        for recipient in message.recipients if message.kind == "escalation" else ():
            email_ids.setdefault((message.escalation_id, recipient), set()).add(message.message_id)
    webhook_ids_of: dict[str, set[str]] = {}
    for request, body in zip(receiver.requests, bodies, strict=True):
        if body.get("tenant_id") == tenant:
            webhook_ids_of.setdefault(body["escalation_id"], set()).add(request.webhook_id)
    return Outcome(
        queued=Counter(row["escalation_id"] for row in rows),
        conversations=Counter(row["conversation_id"] for row in rows),
        emails=Counter(
            (message.escalation_id, recipient)
            for message in smtp.handler.received
            for recipient in message.recipients
            if message.kind == "escalation"
        ),
        webhooks=Counter(
            body["escalation_id"] for body in bodies if body.get("tenant_id") == tenant
        ),
        webhook_ids=Counter(request.webhook_id for request in receiver.requests),
        email_ids=email_ids,
        webhook_ids_of=webhook_ids_of,
    )


PENDING = {
    "emails": "SELECT count(*) FROM notifier_emails WHERE tenant_id = $1 AND status = 'pending'",
    "webhooks": "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1"
    " AND status = 'pending'",
    "outbox": "SELECT count(*) FROM escalation_outbox WHERE $1::text IS NOT NULL",
}


async def pending(database: str, tenant: str) -> dict[str, int]:
    """Work stored but not done yet: emails and webhooks to send, outbox events to relay (in
    the tables of the services that ran: a scenario without the notifier has none)."""
    connection = await asyncpg.connect(database)
    try:
        counts = {}
        for name, sql in PENDING.items():
            table = sql.split(" FROM ", 1)[1].split()[0]
            if await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                counts[name] = int(await connection.fetchval(sql, tenant))
        return counts
    finally:
        await connection.close()


async def settled(
    lag: Lag, database: str, tenant: str, services: Iterable[str], within: float
) -> None:
    """Wait until every group has committed everything and nothing stored waits to be sent:
    from then on nothing more can arrive, so what was counted is final."""
    names = list(services)
    last: dict[str, Any] = {}

    async def quiet() -> bool:
        last["behind"] = await lag.behind(names)
        last["pending"] = await pending(database, tenant)
        return not any(last["behind"].values()) and not any(last["pending"].values())

    try:
        await eventually(quiet, within=within, interval=0.5)
    except TimeoutError as error:
        raise TimeoutError(f"not settled within {within} s: {last}") from error


def report(title: str, figures: dict[str, Any]) -> str:
    lines = [f"\n[chaos] {title}"]
    lines += [f"  {name:<50} {value}" for name, value in figures.items()]
    return "\n".join(lines) + "\n"
