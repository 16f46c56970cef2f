"""The preview chat: a merchant tries the draft escalation settings by writing as the customer
(and as the AI, with a confidence) into the ``preview`` environment, and sees what a chat
backend would: the handoff message, and the escalation in the Preview Queue.

- ``POST /api/v1/preview/messages`` publishes a ``ChatMessage`` (``environment: preview``) on
  ``chat.messages``, exactly as a chat backend does; the detector judges it with the draft.
- queue-api consumes ``chat.handoffs`` in a consumer group of its own (``queue-api-preview``)
  and keeps the preview conversations' commands in ``preview_handoffs``; published ones are
  not its business and are skipped. Malformed records are only counted and logged here: the
  topic's own consumer (the detector) dead-letters them.
- ``GET /api/v1/preview/conversations/{id}`` answers the conversation's handoff commands and
  escalations. Admins only, like every change of the settings; scoped to the token's tenant.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from aiokafka import ConsumerRecord
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from escalator_runtime import config_store
from escalator_runtime.db import Connection, Pool
from escalator_runtime.kafka import (
    JSON_HEADERS,
    MESSAGES_CONSUMED,
    Records,
    batch_subscription,
    decode_records,
    trace_headers,
)
from escalator_runtime.service import ServiceContext
from escalator_schemas import topics
from escalator_schemas.chat import (
    MAX_TEXT_CHARS,
    ChatMessage,
    CustomerProfile,
    Environment,
    Id64,
)
from escalator_schemas.events import HandoffCommand
from queue_api import repository
from queue_api.auth import Principal
from queue_api.deps import BrokerDep, PoolDep, admin_only
from queue_api.errors import problem_responses
from queue_api.models import EscalationSummary
from queue_api.problems import Problem
from queue_api.repository import Visibility

log = structlog.get_logger(__name__)

SERVICE = "queue-api"
CONSUMER_GROUP = "queue-api-preview"

router = APIRouter(prefix="/api/v1/preview", tags=["preview chat"])

ConversationId = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"),
]


# --- what the API accepts and answers --------------------------------------------------------


class PreviewMessage(BaseModel):
    """One message of a preview conversation, written by the merchant."""

    model_config = ConfigDict(extra="forbid")

    agent_id: Id64
    conversation_id: ConversationId | None = Field(
        default=None, description="Omit to start a new conversation (an id is generated)."
    )
    role: Literal["customer", "ai"]
    text: str = Field(max_length=MAX_TEXT_CHARS)
    ai_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="The AI's confidence; on `ai` messages only."
    )
    customer: CustomerProfile | None = None
    metadata: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="e.g. `topic` / `area` hints."
    )

    @model_validator(mode="after")
    def _confidence_on_ai_messages_only(self) -> "PreviewMessage":
        if self.role == "customer" and self.ai_confidence is not None:
            raise ValueError("ai_confidence applies to ai messages only")
        return self


class PreviewHandoff(BaseModel):
    """A ``HandoffCommand`` the chat backend received for a preview conversation."""

    event_id: UUID
    escalation_id: UUID
    kind: Literal["handoff", "resume_ai"]
    message: str | None = Field(description="What the customer is told (on `handoff`).")
    occurred_at: datetime


class PreviewConversation(BaseModel):
    """What happened to a preview conversation: handoffs and escalations, oldest first."""

    conversation_id: str
    agent_id: str
    handoffs: list[PreviewHandoff]
    escalations: list[EscalationSummary]
    ai_paused: bool = Field(description="The last handoff command paused the AI.")


# --- SQL -------------------------------------------------------------------------------------


async def store_handoffs(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert preview handoff commands; a replayed one changes nothing."""
    if not rows:
        return 0
    stored: list[Any] = await connection.fetch(
        """
        INSERT INTO preview_handoffs (
            event_id, tenant_id, agent_id, conversation_id, escalation_id, kind, message,
            occurred_at)
        SELECT r.event_id, r.tenant_id, r.agent_id, r.conversation_id, r.escalation_id,
               r.kind, r.message, r.occurred_at
        FROM jsonb_to_recordset($1::jsonb) AS r(
            event_id uuid, tenant_id text, agent_id text, conversation_id text,
            escalation_id uuid, kind text, message text, occurred_at timestamptz)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        rows,
    )
    return len(stored)


async def load_handoffs(
    pool: Pool, tenant_id: str, agent_id: str, conversation_id: str
) -> list[PreviewHandoff]:
    rows = await pool.fetch(
        """
        SELECT event_id, escalation_id, kind, message, occurred_at FROM preview_handoffs
        WHERE tenant_id = $1 AND agent_id = $2 AND conversation_id = $3
        ORDER BY occurred_at, received_at
        LIMIT 200
        """,
        tenant_id,
        agent_id,
        conversation_id,
    )
    return [PreviewHandoff.model_validate(dict(row)) for row in rows]


async def prune_handoffs(pool: Pool, older_than: timedelta) -> int:
    status: str = await pool.execute(
        "DELETE FROM preview_handoffs WHERE received_at < now() - $1::interval", older_than
    )
    return int(status.rsplit(" ", 1)[-1])


# --- consuming chat.handoffs -----------------------------------------------------------------


def _preview_rows(records: tuple[ConsumerRecord[bytes, bytes], ...]) -> list[dict[str, Any]]:
    accepted, rejected = decode_records(records, HandoffCommand)
    for item in rejected:
        log.warning(
            "malformed handoff command skipped",
            partition=item.record.partition,
            offset=item.record.offset,
            reason=item.reason,
        )
    return [
        repository.without_nul(
            command.model_dump(
                mode="json",
                include={
                    "event_id",
                    "tenant_id",
                    "agent_id",
                    "conversation_id",
                    "escalation_id",
                    "kind",
                    "message",
                    "occurred_at",
                },
            )
        )
        for _record, command in accepted
        if command.environment is Environment.PREVIEW
    ]


def register(context: ServiceContext, retention_days: float) -> None:
    """Consume ``chat.handoffs`` for the preview chat (call from the service's set-up)."""
    pool = context.pool
    retention = timedelta(days=retention_days)
    pruned_at = datetime.min.replace(tzinfo=UTC)

    async def on_handoffs(records: Records) -> None:
        nonlocal pruned_at
        MESSAGES_CONSUMED.labels(CONSUMER_GROUP, topics.CHAT_HANDOFFS).inc(len(records))
        rows = _preview_rows(records)
        if rows:
            async with pool.acquire() as connection:
                stored = await store_handoffs(connection, rows)
            log.info("preview handoffs stored", count=stored)
        if datetime.now(UTC) - pruned_at > timedelta(hours=1):
            pruned_at = datetime.now(UTC)
            await prune_handoffs(pool, retention)

    context.broker.subscriber(
        topics.CHAT_HANDOFFS, **batch_subscription(context.settings, CONSUMER_GROUP)
    )(on_handoffs)


# --- endpoints -------------------------------------------------------------------------------


AdminPrincipal = Annotated[Principal, Depends(admin_only("the preview chat needs role admin"))]


async def _ensure_own_agent(pool: Pool, principal: Principal, agent_id: str) -> None:
    if await config_store.owned_by_another_tenant(pool, principal.tenant_id, agent_id):
        raise Problem(404, "no such agent")


@router.post(
    "/messages",
    status_code=202,
    response_model=ChatMessage,
    responses=problem_responses(401, 403, 404, 413, 422),
)
async def send_preview_message(
    body: PreviewMessage, principal: AdminPrincipal, pool: PoolDep, broker: BrokerDep
) -> ChatMessage:
    """Publish one message of a preview conversation on ``chat.messages`` (``environment:
    preview``, so the draft settings apply) and answer it once the broker has it."""
    await _ensure_own_agent(pool, principal, body.agent_id)
    message = ChatMessage(
        message_id=f"preview-{uuid.uuid4().hex}",
        conversation_id=body.conversation_id or f"preview-{uuid.uuid4().hex[:16]}",
        tenant_id=principal.tenant_id,
        agent_id=body.agent_id,
        environment=Environment.PREVIEW,
        role=body.role,
        text=body.text,
        sent_at=datetime.now(UTC),
        ai_confidence=body.ai_confidence if body.role == "ai" else None,
        customer=body.customer,
        metadata={**body.metadata, "channel": "preview-chat", "sent_by": principal.sub},
    )
    await broker.publish(
        message.model_dump_json().encode(),
        topics.CHAT_MESSAGES,
        key=message.conversation_id.encode(),
        headers=JSON_HEADERS | trace_headers(),
    )
    log.info(
        "preview message published",
        conversation_id=message.conversation_id,
        agent_id=message.agent_id,
        role=message.role.value,
    )
    return message


@router.get(
    "/conversations/{conversation_id}",
    response_model=PreviewConversation,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_preview_conversation(
    conversation_id: Annotated[str, Path(min_length=1, max_length=128)],
    agent_id: Annotated[str, Query(min_length=1, max_length=64)],
    principal: AdminPrincipal,
    pool: PoolDep,
) -> PreviewConversation:
    """The handoff commands and escalations of one preview conversation, oldest first."""
    await _ensure_own_agent(pool, principal, agent_id)
    handoffs = await load_handoffs(pool, principal.tenant_id, agent_id, conversation_id)
    rows, _next = await repository.list_escalations(
        pool,
        Visibility(principal.tenant_id, principal.sub, admin=True),
        {
            "environment": Environment.PREVIEW.value,
            "agent_id": agent_id,
            "conversation_id": conversation_id,
        },
        None,
        50,
    )
    escalations = [EscalationSummary.model_validate(dict(row)) for row in reversed(rows)]
    return PreviewConversation(
        conversation_id=conversation_id,
        agent_id=agent_id,
        handoffs=handoffs,
        escalations=escalations,
        ai_paused=bool(handoffs) and handoffs[-1].kind == "handoff",
    )
