"""What to deliver, and what an attempt's answer means: plain functions the tests call directly."""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

from escalator_schemas.config import EscalationConfig, WebhookSubscription

DeliveryStatus = Literal["pending", "succeeded", "failed"]

# Response headers kept with an attempt: enough to debug, never cookies or auth.
KEPT_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "location",
        "retry-after",
        "server",
        "date",
        "x-request-id",
        "request-id",
        "cf-ray",
    }
)


def subscriptions_for(
    config: EscalationConfig | None, event_type: str
) -> list[WebhookSubscription]:
    """The enabled subscriptions whose ``event_types`` include ``event_type``; an id listed
    twice counts once (the first entry wins)."""
    if config is None:
        return []
    seen: set[str] = set()
    found: list[WebhookSubscription] = []
    for hook in config.webhooks:
        if hook.id in seen:
            continue
        seen.add(hook.id)
        if hook.enabled and event_type in hook.event_types:
            found.append(hook)
    return found


def endpoint_host(url: str) -> str:
    """``host:port`` of a receiver: the unit the per-endpoint concurrency limit counts."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def retry_delay(
    schedule: Sequence[float], attempt_number: int, jitter: float, rng: random.Random | None = None
) -> float | None:
    """Seconds before automatic attempt ``attempt_number`` (1-based), jittered by +-``jitter``;
    None once the schedule is used up."""
    if attempt_number > len(schedule):
        return None
    base = schedule[attempt_number - 1]
    spread = (rng or random).uniform(-jitter, jitter) if jitter else 0.0
    return max(base * (1.0 + spread), 0.0)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name.lower(): value[:500]
        for name, value in headers.items()
        if name.lower() in KEPT_RESPONSE_HEADERS
    }


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What happened to one request. ``status_code`` None: no HTTP answer (see ``error``)."""

    status_code: int | None
    duration_ms: int
    error: str | None = None
    refused: bool = False
    response_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    remote_address: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Decision:
    """The delivery's state after an attempt, and the endpoint's."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    error: str | None
    disable_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    schedule: Sequence[float]
    jitter: float
    disable_after: timedelta
    max_retry_after: float


def describe(result: AttemptResult) -> str | None:
    """The failure in words, for the delivery's ``last_error``."""
    if result.succeeded:
        return None
    if result.status_code is None:
        return result.error or "no answer"
    if 300 <= result.status_code < 400:
        location = result.response_headers.get("location")
        return f"HTTP {result.status_code}: redirects are not followed" + (
            f" (Location: {location})" if location else ""
        )
    return f"HTTP {result.status_code}"


def _span(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


def decide(
    result: AttemptResult,
    automatic_attempts: int,
    now: datetime,
    failing_since: datetime | None,
    policy: Policy,
    final: bool = False,
    rng: random.Random | None = None,
) -> Decision:
    """After an attempt: done, retried (when), or given up, and whether the endpoint goes off.

    ``automatic_attempts`` counts the scheduled attempts made, this one included; ``final``
    marks a manual redelivery of a finished delivery, which is not retried on failure.
    """
    if result.succeeded:
        return Decision("succeeded", None, None)
    error = describe(result)
    if result.status_code == 410:
        return Decision("failed", None, error, "the receiver answered 410 Gone")
    if failing_since is not None and now - failing_since >= policy.disable_after:
        reason = f"every attempt failed for {_span(policy.disable_after)} (last: {error})"
        return Decision("failed", None, error, reason)
    if result.refused or final:
        return Decision("failed", None, error)
    delay = retry_delay(policy.schedule, automatic_attempts + 1, policy.jitter, rng)
    if delay is None:
        return Decision("failed", None, f"{error}; gave up after {automatic_attempts} attempts")
    if result.status_code in (429, 503):
        wait = parse_retry_after(result.response_headers.get("retry-after"), now)
        if wait is not None:
            delay = max(delay, min(wait, policy.max_retry_after))
    return Decision("pending", now + timedelta(seconds=delay), error)
