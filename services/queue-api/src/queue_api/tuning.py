"""The tuning report (issue 9): how an agent's escalation settings performed over a period, per
the seed's "Tuning after launch" table, and the missed-escalation marks supervisors add.

- The report and the list of conversations never escalated need role ``admin``: they cover
  every escalation and conversation of the agent, while a supervisor's queue shows only what
  was routed to them. Marking a conversation missed is open to supervisors too (they are the
  ones who read conversations); the mark records who made it.
- Everything is scoped to the token's tenant; an agent configured by another tenant does not
  exist (404), as in the settings API.
- Before answering, the report has the detector score the period's never-escalated
  conversations for frustration (``tuning_scoring``); when the detector cannot be reached the
  report still answers, with those conversations counted as not scored and a note saying why.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import AwareDatetime

from escalator_runtime import config_store
from escalator_runtime.db import Pool
from escalator_schemas.chat import Environment
from queue_api import tuning_conversations_repository as conversations_sql
from queue_api.auth import CurrentPrincipal, Principal
from queue_api.deps import PoolDep, admin_only
from queue_api.errors import problem_responses
from queue_api.problems import Problem
from queue_api.settings import QueueApiSettings
from queue_api.tuning_models import (
    ConversationMark,
    MissedMarkRequest,
    NotEscalatedConversation,
    NotEscalatedPage,
    TuningReport,
)
from queue_api.tuning_report import build_report
from queue_api.tuning_repository import ReportScope
from queue_api.tuning_scoring import FrustrationScorer

router = APIRouter(prefix="/api/v1/agents/{agent_id}", tags=["tuning report"])

DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=92)

AgentId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$", description="The AI agent.")
]
ConversationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]
From = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Start of the period (included); default: `to` - 7 days."),
]
To = Annotated[
    AwareDatetime | None,
    Query(alias="to", description="End of the period (excluded); default now."),
]
TimeZone = Annotated[
    str,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA time zone whose days the daily series uses.",
    ),
]


AdminPrincipal = Annotated[Principal, Depends(admin_only("the tuning report needs role admin"))]


def _invalid(field: str, msg: str) -> Problem:
    error = {"loc": ["query", field], "field": f"query.{field}", "msg": msg, "type": "value_error"}
    return Problem(422, "the request is not valid; see errors", errors=[error])


async def _scope(
    pool: Pool,
    principal: Principal,
    agent_id: str,
    environment: Environment,
    start: datetime | None,
    end: datetime | None,
) -> ReportScope:
    if await config_store.owned_by_another_tenant(pool, principal.tenant_id, agent_id):
        raise Problem(404, "no such agent")
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_PERIOD
    if start >= end:
        raise _invalid("from", "must be before `to`")
    if end - start > MAX_PERIOD:
        raise _invalid("from", f"the period may span at most {MAX_PERIOD.days} days")
    return ReportScope(principal.tenant_id, agent_id, environment.value, start, end)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise _invalid("timezone", "not a known IANA time zone") from error


@router.get(
    "/tuning-report", response_model=TuningReport, responses=problem_responses(401, 403, 404, 422)
)
async def tuning_report(
    agent_id: AgentId,
    principal: AdminPrincipal,
    pool: PoolDep,
    request: Request,
    start: From = None,
    end: To = None,
    environment: Environment = Environment.PUBLISHED,
    timezone: TimeZone = "UTC",
) -> TuningReport:
    """Escalation rate, triggers, urgency, false and missed escalations, notification gaps,
    time to claim and to resolve, a daily series and advice, for one agent and period
    (default: the last 7 days). Admins only."""
    zone = _zone(timezone)
    scope = await _scope(pool, principal, agent_id, environment, start, end)
    stored = await config_store.load_stored(
        pool, principal.tenant_id, agent_id, config_store.stage_for(environment)
    )
    settings: QueueApiSettings = request.app.state.tuning_settings
    scorer: FrustrationScorer | None = request.app.state.frustration_scorer
    problem: str | None = "frustration scoring is switched off"
    if scorer is not None:
        problem = await scorer.score_period(pool, scope, stored.config if stored else None)
    return await build_report(
        pool,
        scope,
        zone,
        stored.config if stored else None,
        stored.version if stored else None,
        settings.tuning_frustration_watch_level,
        problem,
        datetime.now(UTC),
    )


@router.get(
    "/conversations/not-escalated",
    response_model=NotEscalatedPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def not_escalated_conversations(
    agent_id: AgentId,
    principal: AdminPrincipal,
    pool: PoolDep,
    start: From = None,
    end: To = None,
    environment: Environment = Environment.PUBLISHED,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> NotEscalatedPage:
    """The period's conversations that were never escalated, most frustrated first, for a
    supervisor to mark the ones that should have been. Admins only."""
    scope = await _scope(pool, principal, agent_id, environment, start, end)
    rows, total = await conversations_sql.not_escalated_page(pool, scope, limit, offset)
    return NotEscalatedPage(
        items=[NotEscalatedConversation.model_validate(dict(row)) for row in rows],
        total=total,
        next_offset=offset + len(rows) if offset + len(rows) < total else None,
    )


async def _mark(
    pool: Pool,
    principal: Principal,
    agent_id: str,
    conversation_id: str,
    environment: Environment,
    body: MissedMarkRequest | None,
) -> ConversationMark:
    if await config_store.owned_by_another_tenant(pool, principal.tenant_id, agent_id):
        raise Problem(404, "no such agent")
    args = (principal.tenant_id, agent_id, environment.value, conversation_id)
    async with pool.acquire() as connection, connection.transaction():
        state = await conversations_sql.conversation_state(connection, *args, lock=True)
        if state is None:
            raise Problem(404, "no such conversation")
        if body is not None and state["escalated"]:
            raise Problem(409, "the conversation was escalated: it is not a missed escalation")
        marked_by = principal.sub if body is not None else None
        note = (body.note or "").strip() or None if body is not None else None
        state = await conversations_sql.set_missed_mark(connection, *args, marked_by, note)
    if state is None:
        raise Problem(404, "no such conversation")
    return ConversationMark.model_validate(dict(state))


_MARK_ERRORS = problem_responses(401, 404, 409, 413, 422)


@router.put(
    "/conversations/{conversation_id}/missed-escalation",
    response_model=ConversationMark,
    responses=_MARK_ERRORS,
)
async def mark_missed_escalation(
    agent_id: AgentId,
    conversation_id: ConversationId,
    body: MissedMarkRequest,
    principal: CurrentPrincipal,
    pool: PoolDep,
    environment: Environment = Environment.PUBLISHED,
) -> ConversationMark:
    """Mark a conversation that was never escalated as one that should have been (it then
    counts as a missed escalation in the tuning report). Marking again replaces the note.
    409 when the conversation was escalated."""
    return await _mark(pool, principal, agent_id, conversation_id, environment, body)


@router.delete(
    "/conversations/{conversation_id}/missed-escalation",
    response_model=ConversationMark,
    responses=problem_responses(401, 404, 422),
)
async def unmark_missed_escalation(
    agent_id: AgentId,
    conversation_id: ConversationId,
    principal: CurrentPrincipal,
    pool: PoolDep,
    environment: Environment = Environment.PUBLISHED,
) -> ConversationMark:
    """Take a missed-escalation mark back (idempotent)."""
    return await _mark(pool, principal, agent_id, conversation_id, environment, None)


def install(app: FastAPI, settings: QueueApiSettings) -> None:
    """Serve the tuning report's API from ``app``."""
    app.state.tuning_settings = settings
    app.state.frustration_scorer = FrustrationScorer(
        detector_url=settings.detector_url,
        token=settings.detector_token,
        timeout_seconds=settings.tuning_scoring_timeout_seconds,
        max_conversations=settings.tuning_scoring_max_conversations,
    )
    app.include_router(router)
