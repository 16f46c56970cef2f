"""The queue's REST endpoints under ``/api/v1``."""

from collections.abc import Awaitable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from escalator_runtime import config_store
from escalator_runtime.db import Pool
from escalator_schemas.chat import Environment
from escalator_schemas.classification import Area, Topic, Urgency
from escalator_schemas.events import TranscriptMessage
from queue_api import lifecycle, repository, summary
from queue_api.auth import CurrentPrincipal, Principal
from queue_api.changes import Change
from queue_api.deps import HubDep, PoolDep
from queue_api.errors import problem_responses
from queue_api.hub import StreamHub
from queue_api.models import (
    CompleteRequest,
    EscalationDetail,
    EscalationPage,
    EscalationSummary,
    EscalationSummaryText,
    Status,
)
from queue_api.problems import Problem
from queue_api.repository import Cursor, Visibility

router = APIRouter(prefix="/api/v1", tags=["escalations"])


def visibility(principal: Principal) -> Visibility:
    return Visibility(principal.tenant_id, principal.sub, principal.is_admin)


@router.get("/escalations", response_model=EscalationPage, responses=problem_responses(401, 422))
async def list_escalations(
    principal: CurrentPrincipal,
    pool: PoolDep,
    status: Status | None = None,
    urgency: Urgency | None = None,
    topic: Topic | None = None,
    area: Area | None = None,
    category: Annotated[
        str | None, Query(max_length=120, pattern=r"^[a-z_]+(:[a-z0-9-]+)?$")
    ] = None,
    environment: Environment | None = None,
    assigned_to: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EscalationPage:
    """The caller's queue, newest first: an admin's whole tenant, a supervisor's escalations
    routed or offered to them or owned by them."""
    filters = {
        column: str(value)
        for column, value in {
            "status": status,
            "urgency": urgency,
            "topic": topic,
            "area": area,
            "category": category,
            "environment": environment,
            "assigned_to": assigned_to,
        }.items()
        if value is not None
    }
    try:
        after = Cursor.decode(cursor) if cursor else None
    except ValueError as error:
        raise Problem(
            422,
            "cursor is not valid",
            errors=[
                {
                    "loc": ["query", "cursor"],
                    "field": "cursor",
                    "msg": str(error),
                    "type": "value_error",
                }
            ],
        ) from error
    rows, next_cursor = await repository.list_escalations(
        pool, visibility(principal), filters, after, limit
    )
    return EscalationPage(
        items=[EscalationSummary.model_validate(dict(row)) for row in rows],
        next_cursor=next_cursor.encode() if next_cursor else None,
    )


async def _detail(pool: Pool, principal: Principal, escalation_id: UUID) -> EscalationDetail:
    found = await repository.get_escalation(pool, visibility(principal), escalation_id)
    if found is None:
        raise Problem(404, "no such escalation")
    row, audit = found
    return EscalationDetail.model_validate({**dict(row), "audit": [dict(entry) for entry in audit]})


@router.get(
    "/escalations/{escalation_id}",
    response_model=EscalationDetail,
    responses=problem_responses(401, 404, 422),
)
async def get_escalation(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep
) -> EscalationDetail:
    """One escalation with its reason, triggers, customer, conversation and audit timeline."""
    return await _detail(pool, principal, escalation_id)


async def _act(
    action: Awaitable[list[Change]],
    pool: Pool,
    hub: StreamHub | None,
    principal: Principal,
    escalation_id: UUID,
) -> EscalationDetail:
    """Run a lifecycle action; its committed changes go to the realtime hub straight away."""
    try:
        pushed = await action
    except lifecycle.Refusal as refusal:
        raise Problem(refusal.status, refusal.detail) from refusal
    if hub is not None:
        await hub.announce(pushed)
    return await _detail(pool, principal, escalation_id)


_ACTION_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/escalations/{escalation_id}/claim",
    response_model=EscalationDetail,
    responses=problem_responses(401, 404, 409, 422),
)
async def claim_escalation(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep, hub: HubDep
) -> EscalationDetail:
    """Take ownership: the escalation goes ``in_progress``, owned by the caller. Of any number
    of concurrent claimers exactly one succeeds; the others get 409."""
    actor = visibility(principal)
    action = lifecycle.claim(pool, actor, escalation_id, hub)
    return await _act(action, pool, hub, principal, escalation_id)


@router.post(
    "/escalations/{escalation_id}/release",
    response_model=EscalationDetail,
    responses=_ACTION_ERRORS,
)
async def release_escalation(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep, hub: HubDep
) -> EscalationDetail:
    """Back to ``pending`` for another supervisor (its owner or an admin)."""
    actor = visibility(principal)
    action = lifecycle.release(pool, actor, escalation_id, hub)
    return await _act(action, pool, hub, principal, escalation_id)


@router.post(
    "/escalations/{escalation_id}/complete",
    response_model=EscalationDetail,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
async def complete_escalation(
    escalation_id: UUID,
    body: CompleteRequest,
    principal: CurrentPrincipal,
    pool: PoolDep,
    hub: HubDep,
) -> EscalationDetail:
    """Resolve it with a resolution note (its owner or an admin). ``ai_could_have_handled``
    marks a false escalation."""
    actor = visibility(principal)
    action = lifecycle.complete(
        pool, actor, escalation_id, body.resolution_note, body.ai_could_have_handled, hub
    )
    return await _act(action, pool, hub, principal, escalation_id)


@router.post(
    "/escalations/{escalation_id}/reassign-to-ai",
    response_model=EscalationDetail,
    responses=_ACTION_ERRORS,
)
async def reassign_escalation_to_ai(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep, hub: HubDep
) -> EscalationDetail:
    """Hand the conversation back to the AI: the chat backend is told to resume it (a
    ``resume_ai`` handoff command) and the escalation is completed, flagged
    ``reassigned_to_ai``. A pending one: anyone who sees it; one in progress: its owner or an
    admin."""
    actor = visibility(principal)
    action = lifecycle.reassign_to_ai(pool, actor, escalation_id, hub)
    return await _act(action, pool, hub, principal, escalation_id)


@router.post(
    "/escalations/{escalation_id}/summary",
    response_model=EscalationSummaryText,
    responses=problem_responses(401, 404, 422),
)
async def summarize_escalation(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep, request: Request
) -> EscalationSummaryText:
    """A concise recap in the agent's ``summary_language``: why it escalated, what the customer
    wants, what the AI tried, and how the customer's sentiment evolved. Recorded in the audit
    timeline."""
    detail = await _detail(pool, principal, escalation_id)
    stored = await config_store.load(
        pool,
        detail.tenant_id,
        detail.agent_id,
        config_store.stage_for(detail.environment),
    )
    language = stored.config.summary_language if stored else "en"
    messages: list[TranscriptMessage] = detail.transcript
    result = await summary.summarize(
        escalation_id,
        detail.reason,
        messages,
        language,
        client=request.app.state.http_client,
        endpoint=request.app.state.summary_llm,
    )
    async with pool.acquire() as connection:
        await repository.add_audit(
            connection,
            escalation_id,
            "summary_generated",
            principal.sub,
            {"text": result.text, "language": result.language, "method": result.method},
        )
    return result
