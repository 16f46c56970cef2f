"""The LLM judge against a real HTTP server on 127.0.0.1 that speaks /v1/chat/completions."""

import asyncio
import json
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from detector.language import ConditionMatch, Judgement, Signal, Utterance
from detector.language.llm import LlmJudge
from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition
from tests.stack import serving_in_thread

LEGAL = TriggerCondition(
    label="Legal threat", description="Escalate when the customer threatens to sue."
)
BULK = TriggerCondition(label="Bulk", description="Escalate when someone wants over 100 units.")


def _completion(content: str) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}}
    return {"id": "x", "object": "chat.completion", "choices": [choice | {"finish_reason": "stop"}]}


def _fake_llm() -> FastAPI:
    """Answers like an LLM would; the requested model name picks a failure mode."""
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Response:
        body = await request.json()
        app.state.requests.append(body)
        mode = body["model"]
        if mode == "slow":
            await asyncio.sleep(30)  # far past any timeout the tests give the judge
        if mode == "error":
            return JSONResponse({"error": "overloaded"}, status_code=503)
        if mode == "garbage":
            return JSONResponse(_completion("Sure! Here are my thoughts: the first message is..."))
        if mode == "wrong-shape":
            return JSONResponse(_completion(json.dumps({"verdicts": "yes"})))
        question = json.loads(body["messages"][-1]["content"])
        results = []
        for message in question["messages"]:
            text = message["text"].casefold()
            verdicts = [
                {
                    "condition": condition["id"],
                    "matched": ("sue" in text)
                    if "sue" in condition["description"]
                    else ("500" in text),
                    "confidence": 0.9,
                    "urgency": "critical" if "sue" in condition["description"] else "medium",
                    "reason": "read by the fake llm",
                }
                for condition in question["conditions"]
            ]
            results.append({"message": message["id"], "conditions": verdicts})
        content = json.dumps({"results": results})
        if mode == "fenced":
            content = f"```json\n{content}\n```"
        return JSONResponse(_completion(content))

    return app


@pytest.fixture(scope="session")
def llm_server() -> Iterator[tuple[str, FastAPI]]:
    app = _fake_llm()
    with serving_in_thread(app) as url:
        yield f"{url}/v1", app


class FixedJudge:
    """A fallback that says "no match" to every condition, so the tests see who answered."""

    def __init__(self) -> None:
        self.calls = 0

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        self.calls += 1
        return [
            Judgement(
                anger=Signal(0.1),
                urgency=Signal(0.1),
                conditions=tuple(
                    ConditionMatch(c.label, 0.1, "embedded", Urgency.MEDIUM) for c in u.conditions
                ),
            )
            for u in utterances
        ]


UTTERANCES = [
    Utterance(text="Fix this or I will sue you.", conditions=(LEGAL, BULK)),
    Utterance(text="We want 500 mugs for our cafes.", conditions=(LEGAL, BULK)),
    Utterance(text="Thanks!", conditions=()),
]


@pytest.mark.parametrize("model", ["good", "fenced"])
async def test_the_llm_decides_the_conditions(llm_server: tuple[str, FastAPI], model: str) -> None:
    url, app = llm_server
    fallback = FixedJudge()
    judge = LlmJudge(fallback=fallback, base_url=url, model=model, api_key="sk-test", timeout_s=5)
    try:
        sue, mugs, thanks = await judge.judge(UTTERANCES)
    finally:
        await judge.aclose()
    assert [m.matched for m in sue.conditions] == [True, False]
    assert sue.conditions[0].urgency is Urgency.CRITICAL
    assert sue.conditions[0].detail.startswith("llm")
    assert [m.matched for m in mugs.conditions] == [False, True]
    assert thanks.conditions == ()
    assert fallback.calls == 1  # sentiment, topic and the rest still come from the fallback
    request = app.state.requests[-1]
    assert request["model"] == model
    assert len(json.loads(request["messages"][-1]["content"])["messages"]) == 2


@pytest.mark.parametrize("model", ["slow", "error", "garbage", "wrong-shape"])
async def test_failures_fall_back_to_the_embedded_verdicts(
    llm_server: tuple[str, FastAPI], model: str
) -> None:
    url, _ = llm_server
    judge = LlmJudge(fallback=FixedJudge(), base_url=url, model=model, timeout_s=0.3)
    try:
        # Without its own timeout the judge would wait 30 s on the slow server and fail here.
        async with asyncio.timeout(15):
            judged = await judge.judge(UTTERANCES)
    finally:
        await judge.aclose()
    assert [m.detail for m in judged[0].conditions] == ["embedded", "embedded"]
    assert any("llm unavailable" in note for note in judged[0].notes)


async def test_repeated_failures_pause_the_llm(llm_server: tuple[str, FastAPI]) -> None:
    url, app = llm_server
    judge = LlmJudge(
        fallback=FixedJudge(), base_url=url, model="error", failures_before_pause=2, pause_s=60
    )
    try:
        for _ in range(2):
            await judge.judge(UTTERANCES[:1])
        asked = len(app.state.requests)
        judged = await judge.judge(UTTERANCES[:1])
    finally:
        await judge.aclose()
    assert len(app.state.requests) == asked  # paused: not asked again
    assert judged[0].conditions[0].detail == "embedded"


async def test_an_unreachable_llm_falls_back() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    judge = LlmJudge(fallback=FixedJudge(), base_url=f"http://127.0.0.1:{port}/v1", model="m")
    try:
        judged = await judge.judge(UTTERANCES[:1])
    finally:
        await judge.aclose()
    assert judged[0].conditions[0].detail == "embedded"
