"""``POST /api/v1/agents/{agent_id}/backtest``: what would the draft have done with past
conversations, next to what the published configuration did?

- Admins only (like every change of the settings), scoped to the token's tenant.
- The conversations are the agent's stored ones of the period (default: the last 7 days of
  the published environment; ``conversations`` keeps them), or an uploaded JSON-lines file.
  Supervisors' flags ride along: escalations resolved as "the AI could have handled it", and
  conversations marked as missed escalations.
- The draft is the stored one, or ``config`` as sent (unsaved edits); the baseline is the
  published configuration. Both are replayed as enabled: the question is what the policy
  would do, not whether it is switched on today.
- The detector replays them with its own decision code (``POST /internal/v1/backtest``);
  unreachable it answers 502, too slow 504.
"""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from pydantic import ValidationError

from escalator_runtime import config_store
from escalator_runtime.db import Pool
from escalator_schemas.backtest import BacktestResponse
from escalator_schemas.config import EscalationConfig, PlanTier
from queue_api import conversation_repository
from queue_api.auth import Principal
from queue_api.backtest_models import BacktestAnswer, BacktestAsk, BacktestPeriod
from queue_api.backtest_upload import parse_upload
from queue_api.deps import PoolDep, admin_only
from queue_api.errors import problem_responses
from queue_api.models import ProblemDetails
from queue_api.problems import Problem
from queue_api.settings import QueueApiSettings

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/agents/{agent_id}", tags=["backtest"])

BACKTEST_PATH = "/internal/v1/backtest"
MAX_STORED_CONVERSATIONS = 5_000
MAX_PERIOD = timedelta(days=90)
# The detector needs the policy, not who gets notified or where webhooks go.
_NOT_FOR_THE_DETECTOR = {"supervisors", "webhooks"}


AdminPrincipal = Annotated[
    Principal, Depends(admin_only("backtesting escalation settings needs role admin"))
]
AgentId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$", description="The AI agent.")
]
_DETECTOR_PROBLEMS: dict[int | str, dict[str, Any]] = {
    502: {"model": ProblemDetails, "description": "The detector cannot be reached or failed."},
    504: {"model": ProblemDetails, "description": "The detector did not finish in time."},
}


def _invalid(field: str, msg: str) -> Problem:
    error = {"loc": ["body", field], "field": field, "msg": msg, "type": "value_error"}
    return Problem(422, "the request is not valid; see errors", errors=[error])


def _period(ask: BacktestAsk, now: datetime) -> tuple[datetime, datetime]:
    end = ask.to or now
    try:
        start = ask.from_ or end - timedelta(days=ask.days)
    except OverflowError as error:  # `to` within days of year 1
        raise _invalid("to", "too far in the past") from error
    if start >= end:
        raise _invalid("from", "must be before `to`")
    if end - start > MAX_PERIOD:
        raise _invalid("from", f"the period may span at most {MAX_PERIOD.days} days")
    return start, end


def _for_detector(config: EscalationConfig) -> dict[str, Any]:
    document = config.model_dump(mode="json", exclude=_NOT_FOR_THE_DETECTOR)
    document["enabled"] = True
    return document


async def ask_detector(settings: QueueApiSettings, body: dict[str, Any]) -> BacktestResponse:
    """Run the backtest on the detector; Problems 502 and 504 when it cannot."""
    content = await asyncio.to_thread(lambda: json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    if settings.detector_token is not None:
        headers["Authorization"] = f"Bearer {settings.detector_token.get_secret_value()}"
    timeout = settings.detector_timeout_seconds
    try:
        async with httpx.AsyncClient(base_url=settings.detector_url, timeout=timeout) as client:
            response = await client.post(BACKTEST_PATH, content=content, headers=headers)
    except httpx.TimeoutException as error:
        raise Problem(
            504, f"the detector did not finish the backtest within {timeout:g} s"
        ) from error
    except httpx.HTTPError as error:
        log.warning("detector unreachable for a backtest", error=str(error))
        raise Problem(502, "the detector cannot be reached; try again shortly") from error
    if response.status_code != 200:
        log.warning(
            "detector refused a backtest", status=response.status_code, body=response.text[:500]
        )
        raise Problem(502, f"the detector refused the backtest (HTTP {response.status_code})")
    try:
        return await asyncio.to_thread(BacktestResponse.model_validate_json, response.content)
    except ValidationError as error:
        raise Problem(502, "the detector answered something unexpected") from error


async def _draft(
    pool: Pool, ask: BacktestAsk, tenant_id: str, agent_id: str
) -> tuple[EscalationConfig, str, int | None]:
    if ask.config is not None:
        return ask.config, "inline", None
    stored = await config_store.load_stored(pool, tenant_id, agent_id, "draft")
    if stored is not None:
        return stored.config, "stored_draft", stored.version
    tier = await config_store.tenant_plan_tier(pool, tenant_id) or PlanTier.PROFESSIONAL
    return EscalationConfig(plan_tier=tier), "defaults", None


@router.post(
    "/backtest",
    response_model=BacktestAnswer,
    responses=problem_responses(401, 403, 404, 413, 422) | _DETECTOR_PROBLEMS,
)
async def backtest_draft(
    agent_id: AgentId, ask: BacktestAsk, request: Request, principal: AdminPrincipal, pool: PoolDep
) -> BacktestAnswer:
    """Replay past conversations under the draft and the published configuration: escalation
    rate, escalations by trigger and urgency, the conversations that would newly or no longer
    escalate, and how the draft does on the conversations supervisors flagged."""
    settings: QueueApiSettings = request.app.state.backtest_settings
    tenant_id = principal.tenant_id
    if await config_store.owned_by_another_tenant(pool, tenant_id, agent_id):
        raise Problem(404, "no such agent")
    draft, draft_kind, draft_version = await _draft(pool, ask, tenant_id, agent_id)
    published = await config_store.load_stored(pool, tenant_id, agent_id, "published")
    period: BacktestPeriod | None = None
    truncated = False
    if ask.conversations_jsonl is not None:
        conversations, errors = await asyncio.to_thread(
            parse_upload, ask.conversations_jsonl, tenant_id, agent_id, ask.environment
        )
        if errors:
            raise Problem(422, "the uploaded file has problems; see errors", errors=errors)
    else:
        start, end = _period(ask, datetime.now(UTC))
        period = BacktestPeriod(start=start, end=end)
        stored = await conversation_repository.conversations_in_period(
            pool,
            tenant_id,
            agent_id,
            ask.environment.value,
            start,
            end,
            MAX_STORED_CONVERSATIONS + 1,
        )
        truncated = len(stored) > MAX_STORED_CONVERSATIONS
        conversations = [
            {"conversation_id": c.conversation_id, "messages": c.messages, "flag": c.flag}
            for c in reversed(stored[:MAX_STORED_CONVERSATIONS])
        ]
    configs = {"draft": _for_detector(draft)}
    notes = ["both configurations are replayed as enabled", "idle timeouts are not replayed"]
    if published is not None:
        configs["published"] = _for_detector(published.config)
    else:
        notes.append("nothing is published yet: there is no baseline to compare with")
    if truncated:
        notes.append(f"only the {MAX_STORED_CONVERSATIONS} most recent conversations")
    answer = await ask_detector(
        settings,
        {
            "configs": configs,
            "baseline": "published" if published is not None else None,
            "conversations": conversations,
        },
    )
    return BacktestAnswer(
        agent_id=agent_id,
        environment=ask.environment,
        source="upload" if ask.conversations_jsonl is not None else "stored",
        period=period,
        truncated=truncated,
        draft=draft_kind,
        draft_version=draft_version,
        published_version=published.version if published else None,
        notes=notes,
        results=answer.results,
        report=answer.report,
        elapsed_ms=answer.elapsed_ms,
    )


def install(app: FastAPI, settings: QueueApiSettings) -> None:
    app.state.backtest_settings = settings
    app.include_router(router)
