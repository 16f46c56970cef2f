"""Issue 9, the tuning report: a known set of escalations and conversations of one agent over a
known period, on the real PostgreSQL (and broker, which the app's lifespan connects to); every
figure of the report asserted exactly."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from queue_api.auth import Role
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.queue_api.tuning_support import END, START
from tests.queue_api.tuning_week import Week, known_week
from tests.stack import api_client, free_port, running, token

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
async def queue_app(kafka: str, database: str) -> AsyncIterator[tuple[FastAPI, QueueApiSettings]]:
    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        detector_url=f"http://127.0.0.1:{free_port()}",  # nobody there: scoring fails
    )
    app = create_queue_api(settings)
    async with running(app):
        yield app, settings


@pytest.fixture(scope="module")
async def week(queue_app: tuple[FastAPI, QueueApiSettings], database: str) -> Week:
    app, settings = queue_app
    return await known_week(app, settings, database, "tuning-tenant", "tuning-agent")


def _client(
    queue: tuple[FastAPI, QueueApiSettings], tenant: str, sub: str, role: Role = Role.ADMIN
) -> httpx.AsyncClient:
    app, settings = queue
    return api_client(app, token(settings, sub, tenant, role))


async def _report(
    queue_app: tuple[FastAPI, QueueApiSettings], week: Week, **params: str
) -> dict[str, Any]:
    async with _client(queue_app, week.tenant, "root") as admin:
        response = await admin.get(
            f"/api/v1/agents/{week.agent}/tuning-report",
            params={"from": START.isoformat(), "to": END.isoformat(), **params},
        )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def test_the_report_matches_the_known_week(
    queue_app: tuple[FastAPI, QueueApiSettings], week: Week
) -> None:
    report = await _report(queue_app, week)
    e1, e2, _e3, _e4, _e5, _e6 = week.ids
    c = week.conversations

    assert report["period"] == {
        "from": "2025-03-03T00:00:00Z",
        "to": "2025-03-06T00:00:00Z",
        "timezone": "UTC",
    }
    assert report["config"] == {"version": 1, "escalation_threshold": 0.6, "active_supervisors": 3}
    # 12 recorded conversations active in the period, plus E4's and E6's unrecorded ones.
    assert (report["conversations"], report["escalated_conversations"]) == (14, 6)
    assert report["escalations"] == 6
    assert report["escalation_rate"] == 6 / 14

    assert {t["kind"]: (t["primary"], t["contributing"]) for t in report["by_trigger"]} == {
        "keyword": (2, 3),
        "confidence": (1, 1),
        "clarification": (0, 0),
        "turn_limit": (1, 1),
        "idle": (0, 0),
        "sentiment": (1, 2),
        "condition": (1, 1),
    }
    keyword = report["by_trigger"][0]
    assert (keyword["primary_share"], keyword["contributing_share"]) == (2 / 6, 3 / 6)
    assert [(u["urgency"], u["count"], u["share"]) for u in report["by_urgency"]] == [
        ("critical", 1, 1 / 6),
        ("high", 3, 3 / 6),
        ("medium", 1, 1 / 6),
        ("low", 1, 1 / 6),
    ]

    false = report["false_escalations"]
    assert (false["count"], false["completed"], false["rate"]) == (2, 3, 2 / 3)
    assert [item["escalation_id"] for item in false["items"]] == [e2, e1]
    assert false["items"][1]["trigger"]["kind"] == "keyword"

    missed = report["missed_escalations"]
    assert (missed["count"], missed["marked"], missed["frustration_detected"]) == (3, 1, 2)
    assert missed["watch_level"] == 0.4
    assert [(m["conversation_id"], m["source"]) for m in missed["items"]] == [
        (c["c10"], "marked"),
        (c["c9"], "frustration"),
        (c["c12"], "frustration"),
    ]
    assert missed["items"][0]["missed_marked_by"] == "bob"
    assert missed["items"][0]["missed_note"] == "Customer left angry."
    assert missed["items"][1]["customer_excerpt"] == "This is ridiculous, third time!"
    # c7 c8 c9 c10 c11 c12 c13 were never escalated; c11 has no score.
    assert missed["scoring"]["status"] == "partial"
    assert (missed["scoring"]["scored"], missed["scoring"]["unscored"]) == (6, 1)
    # The detector cannot be reached: the report still answers, and says so.
    assert "the detector could not score them (ConnectError)" in missed["scoring"]["note"]
    assert missed["scoring"]["note"] in report["notes"]

    gaps = report["notification_gaps"]
    assert [
        (s["supervisor_id"], s["matching_escalations"], s["notified"], s["owned"], s["gap"])
        for s in gaps["supervisors"]
    ] == [
        ("alice", 6, 5, 4, None),
        ("bob", 2, 0, 1, "not_notified"),
        ("carol", 0, 0, 0, "no_matching_escalations"),
    ]
    assert (gaps["not_notified"], gaps["no_matching_escalations"]) == (["bob"], ["carol"])
    assert gaps["unrouted_escalations"] == 1

    # Claims after 60, 120, 180, 240 and (first claim of E5) 600 s; E6 never claimed.
    claim = report["time_to_claim"]
    assert (claim["count"], claim["pending"]) == (5, 1)
    assert claim["p50_seconds"] == 180
    assert claim["p90_seconds"] == pytest.approx(240 + 0.6 * (600 - 240))
    assert claim["max_seconds"] == 600
    resolve = report["time_to_resolve"]
    assert (resolve["count"], resolve["pending"]) == (3, 3)
    assert resolve["p50_seconds"] == 600
    assert resolve["p90_seconds"] == pytest.approx(600 + 0.8 * (1200 - 600))
    assert resolve["max_seconds"] == 1200

    assert [
        (d["day"], d["conversations"], d["escalated_conversations"], d["escalations"],
         d["false_escalations"], d["escalation_rate"])
        for d in report["daily"]
    ] == [
        ("2025-03-03", 6, 2, 2, 2, 2 / 6),
        ("2025-03-04", 4, 2, 2, 0, 2 / 4),
        ("2025-03-05", 4, 2, 2, 0, 2 / 4),
    ]  # fmt: skip

    advice = {a["kind"]: a for a in report["advice"]}
    assert list(advice) == [
        "escalation_rate",
        "false_escalations",
        "missed_escalations",
        "notification_gaps",
    ]
    assert "43% of conversations escalated" in advice["escalation_rate"]["message"]
    assert advice["false_escalations"]["suggested_threshold"] == 0.55
    assert "from 0.60 to 0.55" in advice["false_escalations"]["message"]
    assert advice["missed_escalations"]["phrases"] == [
        "I will never order again.",
        "This is ridiculous, third time!",
        "Useless answers.",
    ]
    assert advice["notification_gaps"]["supervisor_ids"] == ["bob", "carol"]
    assert "1 escalation matched no supervisor" in advice["notification_gaps"]["message"]


async def test_days_follow_the_time_zone_asked_for(
    queue_app: tuple[FastAPI, QueueApiSettings], week: Week
) -> None:
    report = await _report(queue_app, week, timezone="America/New_York")
    # UTC-5 in early March: the period starts at 19:00 on the 2nd, New York time.
    days = [(d["day"], d["conversations"], d["escalations"]) for d in report["daily"]]
    assert days == [
        ("2025-03-02", 2, 0),  # c13 and c14, which began before the period
        ("2025-03-03", 4, 2),
        ("2025-03-04", 4, 2),
        ("2025-03-05", 4, 2),
    ]
    assert report["conversations"] == sum(d[1] for d in days)


async def test_a_period_without_anything_answers_zeros_not_errors(
    queue_app: tuple[FastAPI, QueueApiSettings], week: Week
) -> None:
    report = await _report(
        queue_app,
        week,
        **{"from": "2025-01-29T00:00:00+00:00", "to": "2025-02-01T00:00:00+00:00"},
    )
    assert (report["conversations"], report["escalations"], report["escalation_rate"]) == (
        0,
        0,
        None,
    )
    assert report["time_to_claim"] == {
        "count": 0,
        "pending": 0,
        "p50_seconds": None,
        "p90_seconds": None,
        "max_seconds": None,
    }
    assert {s["gap"] for s in report["notification_gaps"]["supervisors"]} == {None}
    assert report["advice"] == []
    assert len(report["daily"]) == 3  # 29, 30 and 31 January
