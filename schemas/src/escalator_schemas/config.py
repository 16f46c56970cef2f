"""An agent's escalation configuration (CONTRACT.md §4, seeds/escalation-rules.txt)."""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from escalator_schemas.chat import Id64
from escalator_schemas.classification import Area, Topic

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "speak to a person",
    "human agent",
    "talk to a human",
    "manager",
    "supervisor",
    "complaint",
    "lawyer",
    "refund",
    "cancel my subscription",
)

DEFAULT_ESCALATION_RESPONSE = (
    "I understand this needs a person. I have passed your conversation to a human supervisor, "
    "who will continue from here as soon as possible."
)

MAX_KEYWORDS = 30
MAX_TRIGGER_CONDITIONS = 20
MAX_SUPERVISORS = 200
MAX_WEBHOOKS = 20

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
LanguageTag = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)
]
ScopeValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class PlanTier(StrEnum):
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"

    @property
    def default_threshold(self) -> float:
        return _TIER_THRESHOLD[self]


_TIER_THRESHOLD = {
    PlanTier.STARTER: 0.7,
    PlanTier.PROFESSIONAL: 0.6,
    PlanTier.ENTERPRISE: 0.5,
}


def slugify(label: str) -> str:
    """The slug of a trigger condition's label, as used in ``condition:<slug>`` categories."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return slug[:100] or "condition"


class TriggerCondition(BaseModel):
    """A merchant-written condition in natural language, judged by a language model."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=1000)

    @property
    def category(self) -> str:
        return "condition:" + slugify(self.label)


class Supervisor(BaseModel):
    """A person who receives and handles escalations, scoped by category, topic and area.

    An empty scope list matches everything.
    """

    model_config = ConfigDict(frozen=True)

    id: Id64
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    active: bool = True
    categories: list[ScopeValue] = Field(default_factory=list, max_length=50)
    topics: list[Topic] = Field(default_factory=list)
    areas: list[Area] = Field(default_factory=list)
    max_concurrent: int = Field(default=5, ge=1, le=100)

    def scope_reasons(self, category: str, topic: str, area: str) -> list[str] | None:
        """Why this supervisor's scopes cover an escalation of ``category``, ``topic`` and
        ``area`` (one phrase per scope, e.g. 'topic refund'), or None when they do not.

        Each non-empty scope list must contain the escalation's value; an empty one matches
        all. Whether the supervisor is active is the caller's concern. Shared here because
        the router routes by it and queue-api's tuning report checks notification gaps by it.
        """
        reasons: list[str] = []
        scopes: tuple[tuple[str, list[str], str], ...] = (
            ("category", self.categories, category),
            ("topic", [str(value) for value in self.topics], topic),
            ("area", [str(value) for value in self.areas], area),
        )
        for scope, allowed, value in scopes:
            if not allowed:
                reasons.append(f"any {scope}")
            elif value in allowed:
                reasons.append(f"{scope} {value}")
            else:
                return None
        return reasons


class WebhookSubscription(BaseModel):
    """An integrator's endpoint for signed escalation events (Standard Webhooks)."""

    model_config = ConfigDict(frozen=True)

    id: Id64
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: str | None = Field(
        default=None,
        pattern=r"^whsec_[A-Za-z0-9+/=]{16,}$",
        description="whsec_<base64>; generated when omitted.",
    )
    event_types: list[str] = Field(default_factory=list)
    enabled: bool = True


class EscalationConfig(BaseModel):
    """When an agent's conversations escalate, and to whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    plan_tier: PlanTier = PlanTier.PROFESSIONAL
    escalation_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="None means the plan tier's default."
    )
    escalation_keywords: list[Keyword] = Field(
        default_factory=lambda: list(DEFAULT_KEYWORDS), max_length=MAX_KEYWORDS
    )
    max_ai_turns_before_escalation: int = Field(default=10, ge=1, le=50)
    idle_timeout_seconds: int | None = Field(
        default=600, ge=30, le=86_400, description="None switches the idle timeout off."
    )
    unclaimed_sla_seconds: int = Field(default=300, ge=30, le=86_400)
    trigger_conditions: list[TriggerCondition] = Field(
        default_factory=list, max_length=MAX_TRIGGER_CONDITIONS
    )
    escalation_response: str = Field(
        default=DEFAULT_ESCALATION_RESPONSE, min_length=1, max_length=2000
    )
    summary_language: LanguageTag = "en"
    supervisors: list[Supervisor] = Field(default_factory=list, max_length=MAX_SUPERVISORS)
    webhooks: list[WebhookSubscription] = Field(default_factory=list, max_length=MAX_WEBHOOKS)

    @field_validator("escalation_response")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def threshold(self) -> float:
        """The confidence below which the AI escalates."""
        if self.escalation_threshold is not None:
            return self.escalation_threshold
        return self.plan_tier.default_threshold


def enablement_violations(config: EscalationConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """What the seed's checklist still misses before escalation can be enabled."""
    if not config.enabled:
        return []
    violations: list[tuple[tuple[str | int, ...], str]] = []
    if not config.trigger_conditions:
        violations.append((("trigger_conditions",), "add at least one trigger condition"))
    if not config.escalation_response.strip():
        violations.append((("escalation_response",), "the escalation response must not be empty"))
    if not any(s.active for s in config.supervisors):
        violations.append((("supervisors",), "assign at least one active supervisor"))
    return violations


class Violation(NamedTuple):
    """One reason a configuration document cannot be saved."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


_FLAG: TypeAdapter[bool] = TypeAdapter(bool)

# Within one configuration these identify an entry; condition labels name a category.
_UNIQUE: tuple[tuple[str, str, str], ...] = (
    ("supervisors", "id", "supervisor id"),
    ("webhooks", "id", "webhook id"),
    ("trigger_conditions", "label", "trigger condition label"),
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _duplicates(document: Mapping[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    for section, key, what in _UNIQUE:
        seen: set[str] = set()
        for index, item in enumerate(_as_list(document.get(section))):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            normalized = slugify(value) if key == "label" else value
            if normalized in seen:
                found.append(Violation((section, index, key), f"duplicate {what}", "duplicate"))
            seen.add(normalized)
    return found


def _checklist(document: Mapping[str, Any]) -> list[Violation]:
    """The seed's checklist, judged on the raw document (limits may fail at the same time)."""
    try:
        if not _FLAG.validate_python(document.get("enabled", False)):
            return []
    except ValidationError:
        return []

    def active(entry: dict[str, Any]) -> bool:
        try:
            return _FLAG.validate_python(entry.get("active", True))
        except ValidationError:
            return True  # reported as a limit violation already

    response = document.get("escalation_response", DEFAULT_ESCALATION_RESPONSE)
    probe = EscalationConfig.model_construct(
        enabled=True,
        trigger_conditions=_as_list(document.get("trigger_conditions", [])),
        escalation_response=response if isinstance(response, str) else "-",
        supervisors=[
            Supervisor.model_construct(id="-", name="-", email="-", active=active(entry))
            for entry in _as_list(document.get("supervisors", []))
            if isinstance(entry, dict)
        ],
    )
    return [
        Violation(loc, msg, "enablement_checklist") for loc, msg in enablement_violations(probe)
    ]


def _nul_characters(value: Any, loc: tuple[str | int, ...] = ()) -> list[Violation]:
    """Text with NUL characters cannot be stored (PostgreSQL refuses them): say where."""
    if isinstance(value, str):
        return (
            [Violation(loc, "must not contain NUL characters", "string_nul")]
            if "\x00" in value
            else []
        )
    if isinstance(value, Mapping):
        return [v for key, item in value.items() for v in _nul_characters(item, (*loc, str(key)))]
    if isinstance(value, list):
        return [v for index, item in enumerate(value) for v in _nul_characters(item, (*loc, index))]
    return []


def document_violations(
    document: Mapping[str, Any],
) -> tuple[EscalationConfig | None, list[Violation]]:
    """Judge a configuration document as sent: every limit, unique ids and, when it is enabled,
    the seed's checklist, all at once. The configuration is None when anything is violated."""
    violations: list[Violation] = []
    config: EscalationConfig | None = None
    try:
        config = EscalationConfig.model_validate(document)
    except ValidationError as error:
        violations.extend(
            Violation(tuple(detail["loc"]), detail["msg"], detail["type"])
            for detail in error.errors(include_url=False, include_input=False)
        )
    violations.extend(_duplicates(document))
    violations.extend(_nul_characters(document))
    reported = {violation.loc for violation in violations}
    violations.extend(v for v in _checklist(document) if v.loc not in reported)
    return (config if not violations else None), violations


class AgentConfigVersion(BaseModel):
    """A stored configuration of one agent in one environment, with its version number."""

    model_config = ConfigDict(frozen=True)

    tenant_id: Id64
    agent_id: Id64
    version: int = Field(ge=0)
    config: EscalationConfig
