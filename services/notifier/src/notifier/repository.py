"""All of the notifier's SQL: escalations it was told about, SLA breaches, the email outbox."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from escalator_runtime import tracing
from escalator_runtime.db import Connection, Pool
from escalator_schemas.events import EscalationRouted, EscalationSlaBreached
from notifier.service import PlannedEmail

# pg_advisory_xact_lock(class, hashtext(escalation_id)): the routed and the lifecycle
# handler meet on one escalation one at a time, so a breach and its routed event read in
# parallel still find each other.
_ESCALATION_LOCK_CLASS = 7358


async def lock_escalations(connection: Connection, escalation_ids: Sequence[UUID]) -> None:
    """Call inside a transaction; sorted, so two batches never wait on each other in a cycle."""
    for escalation_id in sorted(set(escalation_ids)):
        await connection.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            _ESCALATION_LOCK_CLASS,
            str(escalation_id),
        )


async def store_escalation(connection: Connection, routed: EscalationRouted) -> bool:
    """Keep what reminders need; the first routed event of an escalation wins."""
    document = routed.model_dump(mode="json", exclude={"transcript"})
    stored = await connection.fetchval(
        "INSERT INTO notifier_escalations (escalation_id, tenant_id, environment, routed)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (escalation_id) DO NOTHING"
        " RETURNING escalation_id",
        routed.escalation_id,
        routed.tenant_id,
        routed.environment.value,
        document,
    )
    return stored is not None


async def escalation(connection: Connection, escalation_id: UUID) -> EscalationRouted | None:
    document = await connection.fetchval(
        "SELECT routed FROM notifier_escalations WHERE escalation_id = $1", escalation_id
    )
    return EscalationRouted.model_validate(document) if document is not None else None


async def store_breach(connection: Connection, breach: EscalationSlaBreached) -> bool:
    stored = await connection.fetchval(
        "INSERT INTO notifier_sla_breaches (event_id, escalation_id, offered_to,"
        " unclaimed_seconds) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        breach.event_id,
        breach.escalation_id,
        list(breach.offered_to),
        breach.unclaimed_seconds,
    )
    return stored is not None


@dataclass(frozen=True, slots=True)
class StoredBreach:
    offered_to: list[str]
    unclaimed_seconds: int


async def breaches(connection: Connection, escalation_id: UUID) -> list[StoredBreach]:
    rows = await connection.fetch(
        "SELECT offered_to, unclaimed_seconds FROM notifier_sla_breaches"
        " WHERE escalation_id = $1 ORDER BY received_at",
        escalation_id,
    )
    return [StoredBreach(list(row["offered_to"]), row["unclaimed_seconds"]) for row in rows]


async def enqueue(connection: Connection, emails: Sequence[PlannedEmail]) -> list[str]:
    """Add the emails not planned before; returns the kind of each new one. An email that
    cannot be built is recorded as failed, so the outbox accounts for every supervisor."""
    if not emails:
        return []
    # Sending continues the trace of the event the email is about.
    traces = [tracing.carrier_for(email.escalation_id) for email in emails]
    rows = await connection.fetch(
        """
        INSERT INTO notifier_emails
            (escalation_id, supervisor_id, kind, tenant_id, agent_id, environment,
             conversation_id, recipient_name, recipient_email, language, subject, message_id,
             message, status, last_error, traceparent, tracestate)
        SELECT escalation_id, supervisor_id, kind, tenant_id, agent_id, environment,
               conversation_id, recipient_name, recipient_email, language, subject, message_id,
               message, CASE WHEN error IS NULL THEN 'pending' ELSE 'failed' END, error,
               traceparent, tracestate
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                    $13::bytea[], $14::text[], $15::text[], $16::text[])
             AS e(escalation_id, supervisor_id, kind, tenant_id, agent_id, environment,
                  conversation_id, recipient_name, recipient_email, language, subject,
                  message_id, message, error, traceparent, tracestate)
        ON CONFLICT ON CONSTRAINT notifier_emails_once DO NOTHING
        RETURNING kind
        """,
        [email.escalation_id for email in emails],
        [email.supervisor_id for email in emails],
        [email.kind.value for email in emails],
        [email.tenant_id for email in emails],
        [email.agent_id for email in emails],
        [email.environment for email in emails],
        [email.conversation_id for email in emails],
        [email.recipient.name for email in emails],
        [email.recipient.email for email in emails],
        [email.language for email in emails],
        [email.subject for email in emails],
        [email.message_id for email in emails],
        [email.message for email in emails],
        [email.error for email in emails],
        [trace.get("traceparent") for trace in traces],
        [trace.get("tracestate") for trace in traces],
    )
    return [row["kind"] for row in rows]


# --- the sender's side -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxEmail:
    """A claimed email, as the sender needs it."""

    id: int
    escalation_id: UUID
    supervisor_id: str
    kind: str
    recipient_email: str
    message_id: str
    message: bytes
    attempts: int
    conversation_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None


async def claim_due(pool: Pool, limit: int, lease_seconds: float) -> list[OutboxEmail]:
    """Reserve up to ``limit`` due emails for one lease, counting the attempt now: a sender
    that dies mid-send has still used it up."""
    rows = await pool.fetch(
        """
        WITH due AS (
            SELECT id FROM notifier_emails
            WHERE status = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, id
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE notifier_emails AS e
        SET attempts = e.attempts + 1,
            last_attempt_at = now(),
            next_attempt_at = now() + make_interval(secs => $2)
        FROM due WHERE e.id = due.id
        RETURNING e.id, e.escalation_id, e.supervisor_id, e.kind, e.recipient_email,
                  e.message_id, e.message, e.attempts, e.conversation_id, e.traceparent,
                  e.tracestate
        """,
        limit,
        lease_seconds,
    )
    emails = [OutboxEmail(**dict(row)) for row in rows]
    return sorted(emails, key=lambda email: email.id)


async def seconds_until_due(pool: Pool) -> float | None:
    """How long until the next pending email is due (0 when one is), None when none waits."""
    value = await pool.fetchval(
        "SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - now()))::float8"
        " FROM notifier_emails WHERE status = 'pending'"
    )
    return float(value) if value is not None else None


async def mark_sent(pool: Pool, email: OutboxEmail, smtp_response: str) -> None:
    await pool.execute(
        "UPDATE notifier_emails SET status = 'sent', sent_at = now(), smtp_response = $2,"
        " last_error = NULL WHERE id = $1 AND status = 'pending'",
        email.id,
        smtp_response[:1000],
    )


async def mark_retry(pool: Pool, email: OutboxEmail, error: str, delay_seconds: float) -> bool:
    """Schedule another attempt; False when the lease was lost to another sender meanwhile."""
    updated = await pool.fetchval(
        "UPDATE notifier_emails SET last_error = $3,"
        " next_attempt_at = now() + make_interval(secs => $4)"
        " WHERE id = $1 AND status = 'pending' AND attempts = $2 RETURNING id",
        email.id,
        email.attempts,
        error[:2000],
        delay_seconds,
    )
    return updated is not None


async def mark_failed(pool: Pool, email: OutboxEmail, error: str) -> None:
    await pool.execute(
        "UPDATE notifier_emails SET status = 'failed', last_error = $2"
        " WHERE id = $1 AND status = 'pending'",
        email.id,
        error[:2000],
    )


async def release(pool: Pool, emails: Sequence[OutboxEmail]) -> None:
    """Give claimed but unattempted emails back, due now, their attempt not counted."""
    if emails:
        await pool.execute(
            "UPDATE notifier_emails SET attempts = attempts - 1, next_attempt_at = now()"
            " WHERE status = 'pending'"
            " AND (id, attempts) IN (SELECT * FROM unnest($1::bigint[], $2::int[]))",
            [email.id for email in emails],
            [email.attempts for email in emails],
        )
