"""All of the dispatcher's SQL: deliveries, their attempts, endpoints' health, notifications."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from escalator_runtime.db import Connection, Pool
from escalator_schemas.ids import ESCALATOR_NAMESPACE
from webhook_dispatcher.service import AttemptResult, Decision, describe

# Woken on new or rescheduled deliveries; queue-api notifies it after a redeliver or replay.
CHANNEL = "escalator_webhook_deliveries"


def delivery_id_for(event_id: UUID, webhook_id: str) -> UUID:
    return uuid5(ESCALATOR_NAMESPACE, f"webhook-delivery/{event_id}/{webhook_id}")


@dataclass(frozen=True, slots=True)
class NewDelivery:
    tenant_id: str
    agent_id: str
    environment: str
    webhook_id: str
    event_id: UUID
    event_type: str
    escalation_id: UUID
    conversation_id: str
    payload: str
    target_host: str
    # The W3C trace context of the event that queued it: every attempt continues that trace.
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def id(self) -> UUID:
        return delivery_id_for(self.event_id, self.webhook_id)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: UUID
    tenant_id: str
    agent_id: str
    environment: str
    webhook_id: str
    event_id: UUID
    event_type: str
    escalation_id: UUID
    conversation_id: str
    payload: str
    target_host: str
    automatic_attempts: int
    final_attempt: bool
    manual_attempt: bool
    traceparent: str | None = None
    tracestate: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointContext:
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secrets: list[str]


async def insert_deliveries(connection: Connection, deliveries: Sequence[NewDelivery]) -> set[UUID]:
    """Insert what is new (a redelivered event inserts nothing) and wake the senders; the ids
    of the deliveries created."""
    if not deliveries:
        return set()
    columns = [
        [getattr(d, name) for d in deliveries]
        for name in (
            "id",
            "tenant_id",
            "agent_id",
            "environment",
            "webhook_id",
            "event_id",
            "event_type",
            "escalation_id",
            "conversation_id",
            "payload",
            "target_host",
            "traceparent",
            "tracestate",
        )
    ]
    rows = await connection.fetch(
        """
        INSERT INTO webhook_deliveries (id, tenant_id, agent_id, environment, webhook_id,
            event_id, event_type, escalation_id, conversation_id, payload, target_host,
            traceparent, tracestate, next_attempt_at)
        SELECT *, now() FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
            $6::uuid[], $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[],
            $12::text[], $13::text[])
        ON CONFLICT (event_id, webhook_id) DO NOTHING
        RETURNING id
        """,
        *columns,
    )
    if rows:
        await connection.execute("SELECT pg_notify($1, '')", CHANNEL)
    return {row["id"] for row in rows}


async def claim(
    pool: Pool,
    owner: str,
    lease_seconds: float,
    busy: Mapping[str, int],
    per_host: int,
    limit: int,
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due deliveries, at most ``per_host`` minus ``busy`` per host."""
    saturated = [host for host, count in busy.items() if count >= per_host]
    rows = await pool.fetch(
        """
        WITH due AS (
            SELECT id, target_host, next_attempt_at FROM webhook_deliveries
            WHERE status = 'pending' AND next_attempt_at <= now()
              AND (lease_expires_at IS NULL OR lease_expires_at < now())
              AND target_host <> ALL($3::text[])
            ORDER BY next_attempt_at
            LIMIT $6 * 4
            FOR UPDATE SKIP LOCKED
        ), ranked AS (
            SELECT due.id, due.next_attempt_at,
                   row_number() OVER (PARTITION BY due.target_host ORDER BY due.next_attempt_at)
                   + coalesce(b.count, 0) AS slot
            FROM due LEFT JOIN unnest($4::text[], $5::int[]) AS b(host, count)
                 ON b.host = due.target_host
        ), chosen AS (
            SELECT id FROM ranked WHERE slot <= $7 ORDER BY next_attempt_at LIMIT $6
        )
        UPDATE webhook_deliveries d
        SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
        FROM chosen WHERE d.id = chosen.id
        RETURNING d.id, d.tenant_id, d.agent_id, d.environment, d.webhook_id, d.event_id,
                  d.event_type, d.escalation_id, d.conversation_id, d.payload, d.target_host,
                  d.automatic_attempts, d.final_attempt, d.manual_attempt, d.traceparent,
                  d.tracestate
        """,
        owner,
        lease_seconds,
        saturated,
        list(busy),
        list(busy.values()),
        limit,
        per_host,
    )
    return [ClaimedDelivery(**dict(row)) for row in rows]


async def next_due(pool: Pool) -> datetime | None:
    """When the earliest pending delivery is due (or its lease runs out)."""
    value: datetime | None = await pool.fetchval(
        "SELECT min(GREATEST(next_attempt_at, coalesce(lease_expires_at, next_attempt_at)))"
        " FROM webhook_deliveries WHERE status = 'pending'"
    )
    return value


async def endpoint_context(
    pool: Pool, tenant_id: str, agent_id: str, webhook_id: str, url: str
) -> EndpointContext:
    row = await pool.fetchrow(
        """
        SELECT e.disabled_reason, e.failing_since,
               ARRAY(SELECT p.secret FROM webhook_previous_secrets p
                     WHERE p.tenant_id = $1 AND p.agent_id = $2 AND p.webhook_id = $3
                       AND p.expires_at > now()
                     ORDER BY p.created_at DESC) AS previous_secrets
        FROM (SELECT 1) AS one
        LEFT JOIN webhook_endpoints e
               ON e.tenant_id = $1 AND e.agent_id = $2 AND e.webhook_id = $3 AND e.url = $4
        """,
        tenant_id,
        agent_id,
        webhook_id,
        url,
    )
    assert row is not None  # noqa: S101 - a FROM of one row always answers one
    return EndpointContext(
        row["disabled_reason"], row["failing_since"], list(row["previous_secrets"])
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    lease_kept: bool
    endpoint_disabled: bool


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    url: str
    webhook_timestamp: int
    started_at: datetime
    result: AttemptResult


_RECORD_ATTEMPT = """
WITH updated AS (
    UPDATE webhook_deliveries
    SET status = $3, next_attempt_at = $4, attempt_count = attempt_count + 1,
        automatic_attempts = $5, final_attempt = false, manual_attempt = false,
        lease_owner = NULL, lease_expires_at = NULL, last_status_code = $6, last_error = $7,
        updated_at = now(), completed_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
    WHERE id = $1 AND lease_owner = $2
    RETURNING attempt_count
), attempt AS (
    INSERT INTO webhook_attempts (delivery_id, attempt_number, trigger, url, webhook_timestamp,
        started_at, duration_ms, succeeded, status_code, error, refused, remote_address,
        response_headers, response_body)
    VALUES ($1, coalesce((SELECT attempt_count FROM updated),
                         (SELECT attempt_count + 1 FROM webhook_deliveries WHERE id = $1)),
            $8, $9, $10, $11, $12, $13, $6, $14, $15, $16, $17, $18)
), endpoint AS (
    INSERT INTO webhook_endpoints AS e (tenant_id, agent_id, webhook_id, url, failing_since,
        last_success_at, last_failure_at)
    VALUES ($19, $20, $21, $9, CASE WHEN $13 THEN NULL ELSE now() END,
            CASE WHEN $13 THEN now() END, CASE WHEN $13 THEN NULL ELSE now() END)
    ON CONFLICT (tenant_id, agent_id, webhook_id, url) DO UPDATE
    SET failing_since = CASE WHEN $13 THEN NULL ELSE coalesce(e.failing_since, now()) END,
        last_success_at = coalesce(EXCLUDED.last_success_at, e.last_success_at),
        last_failure_at = coalesce(EXCLUDED.last_failure_at, e.last_failure_at),
        updated_at = now()
    -- A healthy endpoint's row is rewritten at most once a minute, not once per delivery.
    WHERE NOT $13 OR e.failing_since IS NOT NULL OR e.last_success_at IS NULL
       OR e.last_success_at < now() - interval '1 minute'
)
SELECT EXISTS (SELECT 1 FROM updated)
"""


async def record_attempt(
    pool: Pool,
    owner: str,
    delivery: ClaimedDelivery,
    attempt: AttemptRecord,
    decision: Decision,
) -> Recorded:
    """Store the attempt, the delivery's new state and the endpoint's health in one statement;
    when the decision disables the endpoint, the tenant is told in the same transaction. A
    lost lease (another instance took over) still stores the attempt."""
    result = attempt.result
    arguments = (
        delivery.id,
        owner,
        decision.status,
        decision.next_attempt_at,
        delivery.automatic_attempts + (0 if delivery.manual_attempt else 1),
        result.status_code,
        decision.error,
        "manual" if delivery.manual_attempt else "scheduled",
        attempt.url,
        attempt.webhook_timestamp,
        attempt.started_at,
        result.duration_ms,
        result.succeeded,
        describe(result),
        result.refused,
        result.remote_address,
        result.response_headers,
        result.response_body,
        delivery.tenant_id,
        delivery.agent_id,
        delivery.webhook_id,
    )
    if decision.disable_endpoint is None:
        kept = await pool.fetchval(_RECORD_ATTEMPT, *arguments)
        return Recorded(lease_kept=bool(kept), endpoint_disabled=False)
    async with pool.acquire() as connection, connection.transaction():
        kept = await connection.fetchval(_RECORD_ATTEMPT, *arguments)
        disabled = await disable_endpoint(
            connection, delivery, attempt.url, decision.disable_endpoint
        )
    return Recorded(lease_kept=bool(kept), endpoint_disabled=disabled)


async def disable_endpoint(
    connection: Connection, delivery: ClaimedDelivery, url: str, reason: str
) -> bool:
    """Switch the endpoint off and tell the tenant (once, however many attempts ran into it).
    Its waiting deliveries fail when their turn comes (``fail_unsent``). False when it was off
    already."""
    switched = await connection.fetchval(
        """
        UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $5, updated_at = now()
        WHERE tenant_id = $1 AND agent_id = $2 AND webhook_id = $3 AND url = $4
          AND disabled_at IS NULL
        RETURNING true
        """,
        delivery.tenant_id,
        delivery.agent_id,
        delivery.webhook_id,
        url,
        reason,
    )
    if switched:
        await connection.execute(
            "INSERT INTO webhook_notifications"
            " (tenant_id, agent_id, webhook_id, url, kind, reason)"
            " VALUES ($1, $2, $3, $4, 'endpoint_disabled', $5)",
            delivery.tenant_id,
            delivery.agent_id,
            delivery.webhook_id,
            url,
            reason,
        )
    return bool(switched)


async def fail_unsent(pool: Pool, owner: str, delivery: ClaimedDelivery, reason: str) -> None:
    """End a delivery that is not to be sent (subscription gone, endpoint disabled)."""
    await pool.execute(
        """
        UPDATE webhook_deliveries
        SET status = 'failed', next_attempt_at = NULL, lease_owner = NULL,
            lease_expires_at = NULL, final_attempt = false, manual_attempt = false,
            last_error = $3, updated_at = now(), completed_at = now()
        WHERE id = $1 AND lease_owner = $2
        """,
        delivery.id,
        owner,
        reason,
    )


async def forget_expired_secrets(pool: Pool) -> int:
    deleted = await pool.fetch(
        "DELETE FROM webhook_previous_secrets WHERE expires_at <= now() RETURNING 1"
    )
    return len(deleted)
