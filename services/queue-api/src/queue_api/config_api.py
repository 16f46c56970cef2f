"""An agent's escalation settings (CONTRACT.md §4-5): the draft, publishing it, the published
version and the history of every change.

- Writes need role ``admin``; reads are open to admins and supervisors; all of it is scoped to
  the token's tenant. An agent belongs to the tenant that configured it first: for any other
  tenant it does not exist (404).
- ``GET`` of an agent never saved answers the defaults (version 0); the plan tier, and with it
  the default threshold, is the tenant's (taken from its latest saved configuration).
- ``PUT`` replaces the draft. Limits always apply (they are the storage format); with
  ``enabled: true`` the seed's checklist too, and every violation is answered at once.
- Optimistic concurrency: ``ETag`` ``"<stage>-<version>"``; ``PUT`` and ``publish`` honour
  ``If-Match`` (for ``publish``: the draft's ETag, i.e. "publish what I reviewed").
- Webhook secrets: generated when omitted (an omitted secret of an existing subscription keeps
  the stored one), answered masked but for the last 4 characters; sending a masked value back
  keeps the stored secret. The ``PUT`` that generated a secret answers it once, in full.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from escalator_runtime import config_store
from escalator_runtime.config_store import Stage, StoredConfig
from escalator_runtime.db import Connection, Pool
from escalator_schemas.config import (
    EscalationConfig,
    PlanTier,
    WebhookSubscription,
    document_violations,
    enablement_violations,
)
from queue_api.auth import CurrentPrincipal, Principal
from queue_api.deps import PoolDep, admin_only
from queue_api.problems import PROBLEM_JSON, Problem, field_errors

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}/escalation-config", tags=["escalation settings"]
)

MAX_BODY_BYTES = 1_000_000


# --- what the API answers --------------------------------------------------------------------


class MaskedWebhookSubscription(WebhookSubscription):
    """A webhook subscription as answered: its secret masked."""

    secret: str | None = Field(
        default=None,
        description="All but the last 4 characters masked with '*'; send it back unchanged to"
        " keep the secret. Answered in full only by the PUT that generated it.",
    )


class EscalationConfigView(EscalationConfig):
    """An agent's escalation configuration as answered: the threshold in effect, and webhook
    secrets masked."""

    escalation_threshold: float = Field(
        ge=0.0, le=1.0, description="In effect: the plan tier's default when none was set."
    )
    webhooks: list[MaskedWebhookSubscription] = Field(  # type: ignore[assignment]
        default_factory=list
    )


class AgentEscalationConfig(BaseModel):
    """One stage (draft or published) of an agent's escalation configuration."""

    tenant_id: str
    agent_id: str
    version: int = Field(ge=0, description="0 when never saved: the answer is the defaults.")
    stage: Stage
    updated_at: datetime | None
    updated_by: str | None
    config: EscalationConfigView


class FieldChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Any = Field(alias="from")
    to: Any


class ConfigChangeEntry(BaseModel):
    """One save or publish: who, when, and what changed (top-level fields, before and after)."""

    id: int
    stage: Stage
    version: int
    action: Literal["save", "publish"]
    changed_by: str
    changed_at: datetime
    changes: dict[str, FieldChange]


class ConfigHistoryPage(BaseModel):
    items: list[ConfigChangeEntry] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next (older) page; null on the last page."
    )


class FieldError(BaseModel):
    loc: list[str]
    field: str
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = Field(default=None, description="On 422: every violation.")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` references written out, for use inside an operation."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            siblings = {key: resolve(value) for key, value in node.items() if key != "$ref"}
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]]) | siblings
            return siblings
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _config_input_schema() -> dict[str, Any]:
    schema = _inline(EscalationConfig.model_json_schema())
    secret = schema["properties"]["webhooks"]["items"]["properties"]["secret"]
    secret["anyOf"].insert(1, {"type": "string", "pattern": r"^\*+[^*]{4}$"})
    secret["description"] = (
        "whsec_<base64>; generated when omitted (an existing subscription keeps its secret);"
        " a masked value as answered by GET keeps the stored secret."
    )
    return schema


_PROBLEM_SCHEMA = _inline(ProblemDetails.model_json_schema())
_PROBLEM_TEXT = {
    401: "Missing or invalid bearer token.",
    403: "The caller's role may not do this (writes need role admin).",
    404: "No such agent in the caller's tenant.",
    409: "There is no draft to publish.",
    413: "The body is too large.",
    412: "If-Match does not match the current version: reload and apply your change again.",
    422: "The request is not valid; `errors` lists every violation, field by field.",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _PROBLEM_TEXT[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


_ETAG_HEADER = {
    "ETag": {"description": '"<stage>-<version>", for If-Match.', "schema": {"type": "string"}}
}
_WITH_ETAG: dict[int | str, dict[str, Any]] = {200: {"headers": _ETAG_HEADER}}


# --- dependencies ----------------------------------------------------------------------------


AdminPrincipal = Annotated[
    Principal, Depends(admin_only("changing escalation settings needs role admin"))
]
AgentId = Annotated[str, Path(min_length=1, max_length=64, description="The AI agent.")]
IfMatch = Annotated[
    str | None,
    Header(description="An ETag from a previous answer: the change applies only to that version."),
]


def etag(stage: Stage, version: int) -> str:
    return f'"{stage}-{version}"'


def if_match_allows(header: str | None, current: str) -> bool:
    if header is None:
        return True
    return any(candidate.strip() in ("*", current) for candidate in header.split(","))


async def _ensure_own_agent(
    connection: Connection | Pool, principal: Principal, agent: str
) -> None:
    if await config_store.owned_by_another_tenant(connection, principal.tenant_id, agent):
        raise Problem(404, "no such agent")


async def _tier(connection: Connection | Pool, tenant_id: str) -> PlanTier:
    return await config_store.tenant_plan_tier(connection, tenant_id) or PlanTier.PROFESSIONAL


def _view(config: EscalationConfig, reveal: frozenset[str] = frozenset()) -> EscalationConfigView:
    document = config.model_dump()
    document["escalation_threshold"] = config.threshold
    for hook in document["webhooks"]:
        if hook["secret"] is not None and hook["id"] not in reveal:
            hook["secret"] = config_store.mask_secret(hook["secret"])
    return EscalationConfigView.model_validate(document)


def _answer(
    stored: StoredConfig, response: Response, reveal: frozenset[str] = frozenset()
) -> AgentEscalationConfig:
    response.headers["ETag"] = etag(stored.stage, stored.version)
    return AgentEscalationConfig(
        tenant_id=stored.tenant_id,
        agent_id=stored.agent_id,
        version=stored.version,
        stage=stored.stage,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        config=_view(stored.config, reveal),
    )


# --- validation: every violation at once ------------------------------------------------------


def _error(loc: tuple[str | int, ...], msg: str, kind: str) -> dict[str, Any]:
    return field_errors([{"loc": ("body", *loc), "msg": msg, "type": kind}])[0]


def _with_secrets(
    document: dict[str, Any], previous: EscalationConfig | None
) -> tuple[dict[str, Any], frozenset[str], list[dict[str, Any]]]:
    """Restore masked and omitted secrets of known subscriptions, generate the missing ones."""
    hooks = document.get("webhooks")
    if not isinstance(hooks, list):
        return document, frozenset(), []
    stored = {hook.id: hook.secret for hook in previous.webhooks if hook.secret} if previous else {}
    generated: set[str] = set()
    errors: list[dict[str, Any]] = []
    restored: list[Any] = []
    for index, hook in enumerate(hooks):
        if not isinstance(hook, dict):
            restored.append(hook)
            continue
        hook_id, secret = hook.get("id"), hook.get("secret")
        kept = stored.get(hook_id) if isinstance(hook_id, str) else None
        if isinstance(secret, str) and config_store.is_masked(secret):
            if kept is None or config_store.mask_secret(kept) != secret:
                errors.append(
                    _error(
                        ("webhooks", index, "secret"),
                        "a masked secret only keeps the stored secret of this subscription;"
                        " send the full secret, or omit it to generate one",
                        "masked_secret_unknown",
                    )
                )
            secret = kept
        elif secret is None:
            secret = kept
            if secret is None and isinstance(hook_id, str):
                secret = config_store.new_webhook_secret()
                generated.add(hook_id)
        restored.append({**hook, "secret": secret})
    return {**document, "webhooks": restored}, frozenset(generated), errors


def validated_config(
    document: dict[str, Any], previous: EscalationConfig | None, tier: PlanTier
) -> tuple[EscalationConfig, frozenset[str]]:
    """The configuration to store and the webhook ids whose secret was generated; raises a 422
    ``Problem`` listing every limit and checklist violation."""
    document = {"plan_tier": tier.value, **document}
    document, generated, errors = _with_secrets(document, previous)
    config, violations = document_violations(document)
    errors.extend(_error(v.loc, v.msg, v.type) for v in violations)
    if errors or config is None:
        raise Problem(
            422, f"the configuration has {len(errors)} problem(s); see errors", errors=errors
        )
    return config, generated


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise Problem(413, f"the configuration exceeds {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem(
            422, "the body is not JSON", errors=[_error((), str(error), "json_invalid")]
        ) from error
    if not isinstance(document, dict):
        raise Problem(
            422,
            "the body must be a JSON object",
            errors=[_error((), "expected an object", "dict_type")],
        )
    return document


# --- endpoints -------------------------------------------------------------------------------


@router.get(
    "",
    response_model=AgentEscalationConfig,
    responses=_WITH_ETAG | _problems(401, 404, 422),
)
async def get_escalation_config(
    agent_id: AgentId,
    principal: CurrentPrincipal,
    pool: PoolDep,
    response: Response,
    version: Annotated[
        Stage, Query(description="`draft` (default; preview uses it) or `published`.")
    ] = "draft",
) -> AgentEscalationConfig:
    """The draft, or with ``?version=published`` the live configuration; the defaults of the
    tenant's plan tier (version 0) when it was never saved."""
    await _ensure_own_agent(pool, principal, agent_id)
    stored = await config_store.load_stored(pool, principal.tenant_id, agent_id, version)
    if stored is not None:
        return _answer(stored, response)
    response.headers["ETag"] = etag(version, 0)
    return AgentEscalationConfig(
        tenant_id=principal.tenant_id,
        agent_id=agent_id,
        version=0,
        stage=version,
        updated_at=None,
        updated_by=None,
        config=_view(EscalationConfig(plan_tier=await _tier(pool, principal.tenant_id))),
    )


@router.put(
    "",
    response_model=AgentEscalationConfig,
    responses=_WITH_ETAG | _problems(401, 403, 404, 412, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _config_input_schema()}},
        }
    },
)
async def save_escalation_config(
    agent_id: AgentId,
    request: Request,
    response: Response,
    principal: AdminPrincipal,
    pool: PoolDep,
    if_match: IfMatch = None,
) -> AgentEscalationConfig:
    """Replace the draft. Preview conversations use it at once; published ones after
    ``publish``."""
    document = await _json_object(request)
    tenant_id = principal.tenant_id
    async with config_store.locked_agent(pool, agent_id) as connection:
        await _ensure_own_agent(connection, principal, agent_id)
        current = await config_store.load_stored(connection, tenant_id, agent_id, "draft")
        version = current.version if current else 0
        if not if_match_allows(if_match, etag("draft", version)):
            raise Problem(412, f"the draft changed: it is at version {version} now")
        tier = current.config.plan_tier if current else await _tier(connection, tenant_id)
        config, generated = validated_config(document, current.config if current else None, tier)
        stored = await config_store.write_stage(
            connection, tenant_id, agent_id, "draft", config, principal.sub, "save", version
        )
    return _answer(stored, response, reveal=generated)


@router.post(
    "/publish",
    response_model=AgentEscalationConfig,
    responses=_WITH_ETAG | _problems(401, 403, 404, 409, 412, 422),
)
async def publish_escalation_config(
    agent_id: AgentId,
    response: Response,
    principal: AdminPrincipal,
    pool: PoolDep,
    if_match: Annotated[
        str | None, Header(description="The draft's ETag: publish only the draft you reviewed.")
    ] = None,
) -> AgentEscalationConfig:
    """Copy the draft to published; live conversations use it within moments, no restart."""
    tenant_id = principal.tenant_id
    async with config_store.locked_agent(pool, agent_id) as connection:
        await _ensure_own_agent(connection, principal, agent_id)
        draft = await config_store.load_stored(connection, tenant_id, agent_id, "draft")
        if draft is None:
            raise Problem(409, "there is no draft to publish: save one first")
        if not if_match_allows(if_match, etag("draft", draft.version)):
            raise Problem(412, f"the draft changed: it is at version {draft.version} now")
        if violations := enablement_violations(draft.config):
            raise Problem(
                422,
                "the draft cannot be published enabled",
                errors=[_error(loc, msg, "enablement_checklist") for loc, msg in violations],
            )
        stored = await config_store.write_stage(
            connection, tenant_id, agent_id, "published", draft.config, principal.sub, "publish"
        )
    return _answer(stored, response)


@router.get(
    "/history",
    response_model=ConfigHistoryPage,
    responses=_problems(401, 404, 422),
)
async def escalation_config_history(
    agent_id: AgentId,
    principal: CurrentPrincipal,
    pool: PoolDep,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConfigHistoryPage:
    """Every save and publish of the agent's configuration, newest first: who, when, what."""
    await _ensure_own_agent(pool, principal, agent_id)
    changes = await config_store.history(
        pool, principal.tenant_id, agent_id, limit + 1, int(cursor) if cursor else None
    )
    page = changes[:limit]
    return ConfigHistoryPage(
        items=[
            ConfigChangeEntry(
                id=change.id,
                stage=change.stage,
                version=change.version,
                action=change.action,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
                changes={
                    name: FieldChange.model_validate(value)
                    for name, value in change.changes.items()
                },
            )
            for change in page
        ],
        next_cursor=str(page[-1].id) if len(changes) > limit else None,
    )
