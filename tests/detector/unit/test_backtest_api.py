"""``POST /internal/v1/backtest`` on the detector's app: its bearer token, field-level 422s, the
answer's shape, and the replay running off the event loop."""

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from detector.backtest import api
from detector.backtest.judge import RememberingJudge
from detector.language import NO_SIGNAL, Judgement, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.main import create_app
from detector.settings import DetectorSettings

TOKEN = "backtest-secret-for-tests"


def client(settings: DetectorSettings) -> httpx.AsyncClient:
    # The lifespan (Kafka, PostgreSQL) is not entered: the endpoint does not need it.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://detector"
    )


def body(*texts: str, baseline: str | None = "published") -> dict[str, Any]:
    return {
        "configs": {
            "published": {"enabled": True, "escalation_threshold": 0.5},
            "draft": {"enabled": True, "escalation_threshold": 0.5, "escalation_keywords": []},
        },
        "baseline": baseline,
        "conversations": [
            {
                "conversation_id": f"c{index}",
                "messages": [
                    {
                        "message_id": f"c{index}-m",
                        "conversation_id": f"c{index}",
                        "tenant_id": "t",
                        "agent_id": "a",
                        "role": "customer",
                        "text": text,
                        "sent_at": "2026-03-02T09:00:00Z",
                    }
                ],
                "flag": None,
            }
            for index, text in enumerate(texts)
        ],
    }


@pytest.fixture(autouse=True)
def cues_only(monkeypatch: pytest.MonkeyPatch) -> None:
    judge = RememberingJudge(EmbeddedJudge(use_model=False))
    monkeypatch.setattr(api, "backtest_judge", lambda use_model: judge)


async def test_with_a_token_set_only_its_bearer_may_backtest() -> None:
    async with client(DetectorSettings(backtest_token=TOKEN)) as detector:
        missing = await detector.post("/internal/v1/backtest", json=body("hi"))
        wrong = await detector.post(
            "/internal/v1/backtest", json=body("hi"), headers={"Authorization": "Bearer nope"}
        )
        right = await detector.post(
            "/internal/v1/backtest", json=body("hi"), headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["content-type"] == "application/problem+json"


async def test_invalid_requests_answer_422_field_by_field() -> None:
    invalid = body("hi", baseline="nowhere")
    invalid["configs"]["draft"]["escalation_threshold"] = 2
    invalid["conversations"][0]["messages"][0]["role"] = "robot"
    async with client(DetectorSettings()) as detector:
        answer = await detector.post("/internal/v1/backtest", json=invalid)
        not_json = await detector.post("/internal/v1/backtest", content=b"{nope")

    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert "configs.draft.escalation_threshold" in fields
    assert "conversations.0.messages.0.role" in fields
    assert not_json.status_code == 422


async def test_answers_outcomes_per_configuration_and_the_report() -> None:
    async with client(DetectorSettings()) as detector:
        answer = await detector.post(
            "/internal/v1/backtest",
            json=body("I want to speak to a person", "What sizes do you have?"),
        )

    assert answer.status_code == 200
    document = answer.json()
    assert set(document) == {"results", "report", "elapsed_ms"}
    first = document["results"][0]
    assert first["outcomes"]["published"]["trigger"] == "keyword"
    assert first["outcomes"]["published"]["trigger_message_id"] == "c0-m"
    assert first["outcomes"]["draft"]["escalated"] is False
    assert 0.0 <= first["peak_frustration"] <= 1.0
    assert document["report"]["changes"]["draft"] == {
        "newly_escalating": [],
        "no_longer_escalating": ["c0"],
    }
    assert document["report"]["configs"]["published"]["escalated"] == 1


class HeldJudge:
    """Holds its first question until released, as a long replay would."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        self.asked.set()
        assert self.release.wait(timeout=30)
        return [Judgement(anger=NO_SIGNAL, urgency=NO_SIGNAL) for _ in utterances]


async def test_health_checks_are_answered_while_a_backtest_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = HeldJudge()
    monkeypatch.setattr(api, "backtest_judge", lambda use_model: held)
    async with client(DetectorSettings()) as detector:
        running = asyncio.create_task(detector.post("/internal/v1/backtest", json=body("hi")))
        assert await asyncio.to_thread(held.asked.wait, 30)
        health = await detector.get("/healthz")
        still_running = not running.done()
        held.release.set()
        answer = await running

    assert health.status_code == 200
    assert still_running
    assert answer.status_code == 200
