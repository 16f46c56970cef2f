"""The queue's REST endpoints under ``/api/v1``."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from escalator_runtime.db import Pool
from escalator_schemas.chat import Environment
from escalator_schemas.classification import Area, Topic, Urgency
from queue_api import repository
from queue_api.auth import CurrentPrincipal, Principal
from queue_api.models import EscalationDetail, EscalationPage, EscalationSummary, Status
from queue_api.problems import Problem
from queue_api.repository import Cursor, Visibility

router = APIRouter(prefix="/api/v1")


def get_pool(request: Request) -> Pool:
    pool: Pool = request.app.state.context.pool
    return pool


PoolDep = Annotated[Pool, Depends(get_pool)]


def visibility(principal: Principal) -> Visibility:
    return Visibility(principal.tenant_id, principal.sub, principal.is_admin)


@router.get("/escalations", response_model=EscalationPage, tags=["escalations"])
async def list_escalations(
    principal: CurrentPrincipal,
    pool: PoolDep,
    status: Status | None = None,
    urgency: Urgency | None = None,
    topic: Topic | None = None,
    area: Area | None = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    environment: Environment | None = None,
    assigned_to: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EscalationPage:
    """The caller's queue, newest first."""
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


@router.get("/escalations/{escalation_id}", response_model=EscalationDetail, tags=["escalations"])
async def get_escalation(
    escalation_id: UUID, principal: CurrentPrincipal, pool: PoolDep
) -> EscalationDetail:
    """One escalation with its reason, triggers, customer, conversation and audit timeline."""
    found = await repository.get_escalation(pool, visibility(principal), escalation_id)
    if found is None:
        raise Problem(404, "no such escalation")
    row, audit = found
    return EscalationDetail.model_validate({**dict(row), "audit": [dict(entry) for entry in audit]})
