"""Webhooks (CONTRACT.md §5-6): the delivery log, redelivery, replay, endpoint notifications
and secret rotation. Admins only (payloads carry escalations of the whole tenant), all of it
scoped to the token's tenant.

The delivery tables belong to webhook-dispatcher: its migrations create them and it is the one
sending. This module reads and writes them with the SQL of its own repository section below;
while they do not exist (the dispatcher never ran against this database) it answers 503.
After a redelivery or replay it wakes the dispatcher with ``NOTIFY escalator_webhook_deliveries``.

Secret rotation writes the new secret into every stage (draft, published) that has the
subscription, each through ``config_store.write_stage`` under the agent's lock: it does not
publish other draft changes along with it. The replaced secret is kept in
``webhook_previous_secrets`` until the overlap ends, and the dispatcher signs with both (the
configuration, whose history and answers mask only ``secret``, never holds it).
"""

import base64
import binascii
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from escalator_runtime import config_store
from escalator_runtime.db import Connection, Pool
from escalator_schemas.config import EscalationConfig
from queue_api.auth import Principal
from queue_api.deps import PoolDep, admin_only
from queue_api.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

WAKE_CHANNEL = "escalator_webhook_deliveries"
MAX_OVERLAP_SECONDS = 7 * 86_400

# --- what the API answers --------------------------------------------------------------------

DeliveryStatus = Literal["pending", "succeeded", "failed"]


class WebhookAttempt(BaseModel):
    """One request to the receiver (or one refused before it was made)."""

    attempt_number: int
    trigger: Literal["scheduled", "manual"]
    url: str
    webhook_timestamp: int = Field(description="The `webhook-timestamp` header sent.")
    started_at: datetime
    duration_ms: int
    succeeded: bool
    status_code: int | None = Field(description="Null when no HTTP answer came (see `error`).")
    error: str | None
    refused: bool = Field(description="Not sent: the target is not allowed (SSRF guard).")
    remote_address: str | None = Field(description="The IP address connected to.")
    response_headers: dict[str, str] = Field(description="A debugging subset.")
    response_body: str | None = Field(description="At most the first 20 KB.")


class WebhookDelivery(BaseModel):
    """One event for one subscription, with every attempt (oldest first)."""

    id: UUID
    webhook_id: str
    agent_id: str
    environment: str
    event_id: UUID = Field(description="Also the `webhook-id` header of every attempt.")
    event_type: str
    escalation_id: UUID
    conversation_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    payload: dict[str, Any] = Field(description="The body sent: the event's envelope JSON.")
    attempts: list[WebhookAttempt]


class WebhookEndpointHealth(BaseModel):
    """A receiver URL of the subscription and how it has been doing."""

    agent_id: str
    url: str
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    disabled_at: datetime | None = Field(description="Set: nothing is sent to it any more.")
    disabled_reason: str | None


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for older deliveries.")
    endpoints: list[WebhookEndpointHealth]


class ReplayResult(BaseModel):
    replayed: int = Field(description="Failed deliveries scheduled again.")
    since: datetime


class WebhookNotification(BaseModel):
    """Something the tenant has to know about an endpoint, e.g. that it was disabled."""

    id: int
    agent_id: str
    webhook_id: str
    url: str
    kind: Literal["endpoint_disabled"]
    reason: str
    created_at: datetime


class WebhookNotificationPage(BaseModel):
    items: list[WebhookNotification] = Field(description="Newest first.")
    next_cursor: str | None


class RotatedSecret(BaseModel):
    """The new secret, answered once: store it now. Both are signed with until the overlap
    ends (two space-separated `v1,` signatures in `webhook-signature`)."""

    agent_id: str
    webhook_id: str
    secret: str
    previous_secret_expires_at: datetime | None = Field(
        description="Until then requests carry a signature with the previous secret too."
    )
    versions: dict[str, int] = Field(description="The new version of each stage changed.")


# --- repository: the dispatcher's tables, as queue-api uses them -----------------------------


@contextlib.asynccontextmanager
async def dispatcher_tables() -> AsyncIterator[None]:
    try:
        yield
    except asyncpg.UndefinedTableError as error:
        raise Problem(
            503,
            "webhook deliveries are not available yet: webhook-dispatcher has not created"
            " its tables in this database",
            title="Service Unavailable",
        ) from error


@dataclass(frozen=True, slots=True)
class DeliveryCursor:
    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "DeliveryCursor":
        try:
            created_at, delivery_id = json.loads(
                base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            )
            moment = datetime.fromisoformat(created_at)
            cursor = cls(moment.astimezone(UTC), UUID(delivery_id))
        except (binascii.Error, ValueError, TypeError, OverflowError) as error:
            raise Problem(422, "the cursor is not valid") from error
        if moment.tzinfo is None:
            raise Problem(422, "the cursor is not valid")
        return cursor


_DELIVERY_COLUMNS = """id, webhook_id, agent_id, environment, event_id, event_type,
    escalation_id, conversation_id, status, attempt_count, next_attempt_at, last_status_code,
    last_error, created_at, completed_at, payload"""


async def list_deliveries(
    pool: Pool,
    tenant_id: str,
    webhook_id: str,
    agent_id: str | None,
    delivery_status: str | None,
    after: DeliveryCursor | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await pool.fetch(
        f"""
        SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries
        WHERE tenant_id = $1 AND webhook_id = $2
          AND ($3::text IS NULL OR agent_id = $3) AND ($4::text IS NULL OR status = $4)
          AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $7
        """,  # noqa: S608 - a constant column list, values are parameters
        tenant_id,
        webhook_id,
        agent_id,
        delivery_status,
        after.created_at if after else None,
        after.id if after else None,
        limit,
    )


async def attempts_of(
    connection: Pool | Connection, delivery_ids: Sequence[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    rows = await connection.fetch(
        "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[])"
        " ORDER BY delivery_id, id",
        list(delivery_ids),
    )
    found: dict[UUID, list[asyncpg.Record]] = {}
    for row in rows:
        found.setdefault(row["delivery_id"], []).append(row)
    return found


async def endpoint_health(
    pool: Pool, tenant_id: str, webhook_id: str, agent_id: str | None
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT agent_id, url, failing_since, last_success_at, last_failure_at, disabled_at,"
        " disabled_reason FROM webhook_endpoints WHERE tenant_id = $1 AND webhook_id = $2"
        " AND ($3::text IS NULL OR agent_id = $3) ORDER BY updated_at DESC",
        tenant_id,
        webhook_id,
        agent_id,
    )


async def _enable_endpoints(
    connection: Connection, tenant_id: str, agent_ids: Sequence[str], webhook_id: str
) -> None:
    """A redelivery or replay is the tenant saying the receiver is back: switch it on again."""
    await connection.execute(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL,"
        " failing_since = NULL, updated_at = now()"
        " WHERE tenant_id = $1 AND agent_id = ANY($2::text[]) AND webhook_id = $3"
        " AND disabled_at IS NOT NULL",
        tenant_id,
        list(agent_ids),
        webhook_id,
    )


async def schedule_redelivery(
    pool: Pool, tenant_id: str, delivery_id: UUID
) -> asyncpg.Record | Literal["missing", "in_flight"]:
    async with pool.acquire() as connection, connection.transaction():
        current = await connection.fetchrow(
            "SELECT agent_id, webhook_id, lease_expires_at > now() AS in_flight"
            " FROM webhook_deliveries WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
            delivery_id,
            tenant_id,
        )
        if current is None:
            return "missing"
        if current["in_flight"]:
            return "in_flight"
        row = await connection.fetchrow(
            f"""
            UPDATE webhook_deliveries
            SET final_attempt = (status <> 'pending'), manual_attempt = true,
                status = 'pending', next_attempt_at = now(), completed_at = NULL,
                updated_at = now()
            WHERE id = $1 RETURNING {_DELIVERY_COLUMNS}
            """,  # noqa: S608 - a constant column list
            delivery_id,
        )
        await _enable_endpoints(connection, tenant_id, [current["agent_id"]], current["webhook_id"])
        await connection.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    assert row is not None  # noqa: S101 - the row was locked above
    return row


async def schedule_replay(
    pool: Pool, tenant_id: str, webhook_id: str, agent_id: str | None, since: datetime
) -> int:
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(
            """
            UPDATE webhook_deliveries
            SET final_attempt = true, manual_attempt = true, status = 'pending',
                next_attempt_at = now(), completed_at = NULL, updated_at = now()
            WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR agent_id = $3)
              AND status = 'failed' AND created_at >= $4
            RETURNING agent_id
            """,
            tenant_id,
            webhook_id,
            agent_id,
            since,
        )
        agents = sorted({row["agent_id"] for row in rows})
        if agents:
            await _enable_endpoints(connection, tenant_id, agents, webhook_id)
            await connection.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return len(rows)


async def list_notifications(
    pool: Pool, tenant_id: str, before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, agent_id, webhook_id, url, kind, reason, created_at"
        " FROM webhook_notifications WHERE tenant_id = $1"
        " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        tenant_id,
        before_id,
        limit,
    )


async def keep_previous_secret(
    connection: Connection,
    tenant_id: str,
    agent_id: str,
    webhook_id: str,
    secret: str,
    expires_at: datetime,
) -> None:
    await connection.execute(
        """
        INSERT INTO webhook_previous_secrets (tenant_id, agent_id, webhook_id, secret, expires_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (tenant_id, agent_id, webhook_id, secret) DO UPDATE
        SET expires_at = GREATEST(webhook_previous_secrets.expires_at, EXCLUDED.expires_at)
        """,
        tenant_id,
        agent_id,
        webhook_id,
        secret,
        expires_at,
    )


# --- dependencies ----------------------------------------------------------------------------


AdminPrincipal = Annotated[
    Principal, Depends(admin_only("webhooks are managed by admins: this needs role admin"))
]
# Ids never hold control characters (PostgreSQL refuses NUL): refused up front with 422.
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
WebhookId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The subscription."),
]
AgentFilter = Annotated[
    str | None,
    Query(
        max_length=64, pattern=ID_PATTERN, description="Only this agent's subscription of that id."
    ),
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token."},
    403: {"description": "Needs role admin."},
    422: {"description": "The request is not valid."},
    503: {"description": "webhook-dispatcher has not created its tables yet."},
}


def _delivery(row: asyncpg.Record, attempts: list[asyncpg.Record]) -> WebhookDelivery:
    return WebhookDelivery.model_validate(
        {
            **dict(row),
            "payload": json.loads(row["payload"]),
            "attempts": [dict(attempt) for attempt in attempts],
        }
    )


# --- endpoints -------------------------------------------------------------------------------


@router.get(
    "/webhooks/{webhook_id}/deliveries", response_model=WebhookDeliveryPage, responses=_ERRORS
)
async def list_webhook_deliveries(
    webhook_id: WebhookId,
    principal: AdminPrincipal,
    pool: PoolDep,
    agent_id: AgentFilter = None,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> WebhookDeliveryPage:
    """The subscription's deliveries, newest first, each with every attempt; and the health of
    its endpoint (whether it was disabled, and why)."""
    after = DeliveryCursor.decode(cursor) if cursor else None
    async with dispatcher_tables():
        rows = await list_deliveries(
            pool, principal.tenant_id, webhook_id, agent_id, delivery_status, after, limit + 1
        )
        page = rows[:limit]
        attempts = await attempts_of(pool, [row["id"] for row in page])
        endpoints = await endpoint_health(pool, principal.tenant_id, webhook_id, agent_id)
    return WebhookDeliveryPage(
        items=[_delivery(row, attempts.get(row["id"], [])) for row in page],
        next_cursor=DeliveryCursor(page[-1]["created_at"], page[-1]["id"]).encode()
        if len(rows) > limit
        else None,
        endpoints=[WebhookEndpointHealth.model_validate(dict(row)) for row in endpoints],
    )


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response_model=WebhookDelivery,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS
    | {
        404: {"description": "No such delivery in the caller's tenant."},
        409: {"description": "An attempt is under way; try again when it is recorded."},
    },
)
async def redeliver_webhook(
    delivery_id: UUID, principal: AdminPrincipal, pool: PoolDep
) -> WebhookDelivery:
    """Send the delivery again now, with the same `webhook-id` (signed afresh). A finished
    delivery gets one more attempt; a pending one is tried now and keeps its schedule. A
    disabled endpoint is switched on again."""
    async with dispatcher_tables():
        row = await schedule_redelivery(pool, principal.tenant_id, delivery_id)
        if row == "missing":
            raise Problem(404, "no such delivery")
        if isinstance(row, str):
            raise Problem(409, "an attempt at this delivery is under way")
        attempts = await attempts_of(pool, [delivery_id])
    return _delivery(row, attempts.get(delivery_id, []))


@router.post(
    "/webhooks/{webhook_id}/replay",
    response_model=ReplayResult,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS,
)
async def replay_failed_webhooks(
    webhook_id: WebhookId,
    principal: AdminPrincipal,
    pool: PoolDep,
    since: Annotated[AwareDatetime, Query(description="RFC 3339, with an offset.")],
    agent_id: AgentFilter = None,
) -> ReplayResult:
    """Send again every failed delivery of the subscription created at or after `since`
    (including those never sent because the endpoint was disabled); one attempt each. A
    disabled endpoint is switched on again."""
    try:
        since = since.astimezone(UTC)
    except OverflowError as error:
        raise Problem(422, "since is out of range") from error
    async with dispatcher_tables():
        count = await schedule_replay(pool, principal.tenant_id, webhook_id, agent_id, since)
    return ReplayResult(replayed=count, since=since)


@router.get("/webhooks/notifications", response_model=WebhookNotificationPage, responses=_ERRORS)
async def list_webhook_notifications(
    principal: AdminPrincipal,
    pool: PoolDep,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WebhookNotificationPage:
    """What the tenant is told about its endpoints (e.g. one disabled after answering 410, or
    after failing for 5 days), newest first."""
    async with dispatcher_tables():
        rows = await list_notifications(
            pool, principal.tenant_id, int(cursor) if cursor else None, limit + 1
        )
    page = rows[:limit]
    return WebhookNotificationPage(
        items=[WebhookNotification.model_validate(dict(row)) for row in page],
        next_cursor=str(page[-1]["id"]) if len(rows) > limit else None,
    )


def _with_secret(config: EscalationConfig, webhook_id: str, secret: str) -> EscalationConfig:
    document = config.model_dump()
    for hook in document["webhooks"]:
        if hook["id"] == webhook_id:
            hook["secret"] = secret
    return EscalationConfig.model_validate(document)


@router.post(
    "/agents/{agent_id}/webhooks/{webhook_id}/rotate-secret",
    response_model=RotatedSecret,
    responses=_ERRORS | {404: {"description": "No such agent or subscription."}},
)
async def rotate_webhook_secret(
    agent_id: Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)],
    webhook_id: WebhookId,
    principal: AdminPrincipal,
    pool: PoolDep,
    response: Response,
    overlap_seconds: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OVERLAP_SECONDS,
            description="How long the previous secret still signs (default 24 h).",
        ),
    ] = 86_400,
) -> RotatedSecret:
    """A new signing secret for the subscription, in every stage that has it (the draft and
    the published configuration), effective at once; the previous one keeps signing alongside
    it for `overlap_seconds`. The new secret is answered only here."""
    tenant_id = principal.tenant_id
    secret = config_store.new_webhook_secret()
    expires_at = datetime.now(UTC) + timedelta(seconds=overlap_seconds)
    versions: dict[str, int] = {}
    async with dispatcher_tables(), config_store.locked_agent(pool, agent_id) as connection:
        if await config_store.owned_by_another_tenant(connection, tenant_id, agent_id):
            raise Problem(404, "no such agent")
        for stage in ("draft", "published"):
            stored = await config_store.load_stored(connection, tenant_id, agent_id, stage)
            hook = next(
                (h for h in (stored.config.webhooks if stored else []) if h.id == webhook_id),
                None,
            )
            if stored is None or hook is None:
                continue
            if hook.secret and overlap_seconds:
                await keep_previous_secret(
                    connection, tenant_id, agent_id, webhook_id, hook.secret, expires_at
                )
            written = await config_store.write_stage(
                connection,
                tenant_id,
                agent_id,
                stage,
                _with_secret(stored.config, webhook_id, secret),
                principal.sub,
                "save" if stage == "draft" else "publish",
            )
            versions[stage] = written.version
        if not versions:
            raise Problem(404, "no such webhook subscription")
    response.headers["Cache-Control"] = "no-store"
    return RotatedSecret(
        agent_id=agent_id,
        webhook_id=webhook_id,
        secret=secret,
        previous_secret_expires_at=expires_at if overlap_seconds else None,
        versions=versions,
    )
