"""Deliveries' decisions: who gets an event, the retry schedule, what an answer means."""

import random
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest

from escalator_schemas.config import EscalationConfig, WebhookSubscription
from webhook_dispatcher.service import (
    AttemptResult,
    Policy,
    decide,
    endpoint_host,
    kept_headers,
    parse_retry_after,
    retry_delay,
    subscriptions_for,
)
from webhook_dispatcher.settings import DEFAULT_SCHEDULE, WebhookDispatcherSettings

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(DEFAULT_SCHEDULE, 0.0, timedelta(days=5), 86_400.0)


def _hook(hook_id: str, event_types: list[str], enabled: bool = True) -> WebhookSubscription:
    return WebhookSubscription(
        id=hook_id, url=f"https://{hook_id}.example.com/", event_types=event_types, enabled=enabled
    )


def test_only_enabled_subscriptions_of_the_event_type_get_it() -> None:
    config = EscalationConfig(
        webhooks=[
            _hook("all", ["escalation.detected", "escalation.claimed"]),
            _hook("claims", ["escalation.claimed"]),
            _hook("off", ["escalation.detected"], enabled=False),
            _hook("none", []),
            _hook("all", ["escalation.claimed"]),  # a duplicate id: the first entry wins
        ]
    )
    assert [h.id for h in subscriptions_for(config, "escalation.detected")] == ["all"]
    assert [h.id for h in subscriptions_for(config, "escalation.claimed")] == ["all", "claims"]
    assert subscriptions_for(None, "escalation.detected") == []


def test_the_default_schedule_and_its_jitter() -> None:
    assert [retry_delay(DEFAULT_SCHEDULE, n, 0.0) for n in range(1, 10)] == [
        0.0,
        5.0,
        300.0,
        1800.0,
        7200.0,
        18000.0,
        36000.0,
        36000.0,
        None,
    ]
    rng = random.Random(7)
    delays = [retry_delay(DEFAULT_SCHEDULE, 3, 0.2, rng) for _ in range(500)]
    assert all(delay is not None and 240.0 <= delay <= 360.0 for delay in delays)
    assert len({round(delay or 0) for delay in delays}) > 50


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("Sat, 01 Mar 2025 12:10:00 GMT", NOW) == 600.0
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def _answer(status: int | None, **headers: str) -> AttemptResult:
    return AttemptResult(status, 12, None if status else "ConnectError", response_headers=headers)


def test_2xx_succeeds_and_anything_else_is_retried_on_schedule() -> None:
    assert decide(_answer(204), 1, NOW, None, POLICY).status == "succeeded"
    for status in (None, 301, 308, 400, 404, 500, 502):
        decision = decide(_answer(status), 2, NOW, None, POLICY)
        assert decision.status == "pending"
        assert decision.next_attempt_at == NOW + timedelta(minutes=5)
        assert decision.disable_endpoint is None


def test_a_redirect_is_a_failure_that_names_the_target() -> None:
    decision = decide(_answer(308, location="http://169.254.169.254/"), 1, NOW, None, POLICY)
    assert decision.error is not None
    assert "redirects are not followed" in decision.error
    assert "169.254.169.254" in decision.error


def test_retry_after_is_honoured_on_429_and_503_only() -> None:
    for status in (429, 503):
        decision = decide(_answer(status, **{"retry-after": "3600"}), 2, NOW, None, POLICY)
        assert decision.next_attempt_at == NOW + timedelta(hours=1)
    # Never sooner than the schedule, never later than the cap.
    soon = decide(_answer(429, **{"retry-after": "1"}), 2, NOW, None, POLICY)
    assert soon.next_attempt_at == NOW + timedelta(minutes=5)
    capped = decide(_answer(503, **{"retry-after": "9999999"}), 2, NOW, None, POLICY)
    assert capped.next_attempt_at == NOW + timedelta(days=1)
    ignored = decide(_answer(500, **{"retry-after": "3600"}), 2, NOW, None, POLICY)
    assert ignored.next_attempt_at == NOW + timedelta(minutes=5)


def test_the_schedule_runs_out_after_eight_attempts() -> None:
    assert decide(_answer(500), 7, NOW, None, POLICY).status == "pending"
    last = decide(_answer(500), 8, NOW, None, POLICY)
    assert last.status == "failed"
    assert last.error is not None
    assert "gave up after 8 attempts" in last.error


def test_410_disables_the_endpoint() -> None:
    decision = decide(_answer(410), 1, NOW, None, POLICY)
    assert decision.status == "failed"
    assert decision.disable_endpoint == "the receiver answered 410 Gone"


def test_an_endpoint_failing_for_five_days_is_disabled() -> None:
    recent = decide(_answer(500), 3, NOW, NOW - timedelta(days=4, hours=23), POLICY)
    assert recent.disable_endpoint is None
    old = decide(_answer(500), 3, NOW, NOW - timedelta(days=5), POLICY)
    assert old.status == "failed"
    assert old.disable_endpoint is not None
    assert "5 days" in old.disable_endpoint


def test_refused_targets_and_final_manual_attempts_are_not_retried() -> None:
    refused = AttemptResult(None, 0, "refused: 10.0.0.1 is private", refused=True)
    assert decide(refused, 1, NOW, None, POLICY).status == "failed"
    assert decide(_answer(500), 8, NOW, None, POLICY, final=True).status == "failed"
    assert decide(_answer(200), 8, NOW, None, POLICY, final=True).status == "succeeded"


def test_endpoint_hosts_and_kept_headers() -> None:
    assert endpoint_host("https://Hooks.Example.com/x") == "hooks.example.com:443"
    assert endpoint_host("http://127.0.0.1:8080/x?y=1") == "127.0.0.1:8080"
    answered = {"Content-Type": "text/plain", "Set-Cookie": "s=1", "Retry-After": "5"}
    assert kept_headers(answered) == {"content-type": "text/plain", "retry-after": "5"}


def test_settings_read_comma_separated_lists_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBHOOK_DISPATCHER_ALLOW_NETWORKS", "127.0.0.1/32, ::1/128")
    monkeypatch.setenv("WEBHOOK_DISPATCHER_RETRY_SCHEDULE_SECONDS", "0,0.5,2")
    settings = WebhookDispatcherSettings()
    assert settings.allow_networks == (ip_network("127.0.0.1/32"), ip_network("::1/128"))
    assert settings.retry_schedule_seconds == (0.0, 0.5, 2.0)
    assert settings.lease == settings.request_timeout_seconds + 30.0
