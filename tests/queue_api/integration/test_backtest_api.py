"""Issue 11: backtesting the draft over an agent's stored conversations, end to end — chat
messages published on the real broker, stored by queue-api, replayed by a real detector
serving its internal endpoint, flags from supervisors' resolutions — with exact counts."""

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from escalator_runtime import config_store
from escalator_schemas import topics
from escalator_schemas.config import EscalationConfig
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests import backtest_samples as samples
from tests.fuzz import schemathesis
from tests.queue_api.support import pool_of, routed, store, with_detector
from tests.stack import api_client, eventually, free_port, now, producer, serve, token

pytestmark = pytest.mark.integration

TOKEN = "detector-backtest-token"


@dataclass
class Stack:
    app: FastAPI
    settings: QueueApiSettings


@pytest.fixture(scope="module")
async def stack(kafka: str, database: str) -> AsyncIterator[Stack]:
    async with with_detector(kafka, database, TOKEN) as (app, settings):
        yield Stack(app, settings)


def turns(
    conversation: str,
    tenant: str,
    agent: str,
    days_ago: float,
    lines: Sequence[tuple[str, float | None]],
    **extra: Any,
) -> list[dict[str, Any]]:
    start = now() - timedelta(days=days_ago)
    return [
        {
            "message_id": f"{conversation}-{index}",
            "conversation_id": conversation,
            "tenant_id": tenant,
            "agent_id": agent,
            "role": "customer" if confidence is None else "ai",
            "text": text,
            "sent_at": (start + timedelta(seconds=20 * index)).isoformat(),
            "ai_confidence": confidence,
        }
        | extra
        for index, (text, confidence) in enumerate(lines)
    ]


KEYWORD, UNSURE, LONG, CALM = samples.KEYWORD, samples.UNSURE, samples.LONG, samples.CALM


async def known_agent(stack: Stack, unique: str) -> tuple[str, str]:
    """Published: threshold 0.5. Draft: threshold 0.6, turn limit 3. Four conversations in the
    last 7 days (plus one older and one in preview); "unsure" was escalated and resolved as one
    the AI could have handled, "long" was marked as a missed escalation."""
    tenant, agent = f"t-{unique}", f"shop-{unique}"
    pool = pool_of(stack.app)
    await config_store.save_draft(
        pool, tenant, agent, EscalationConfig(escalation_threshold=0.5), "test"
    )
    await config_store.publish(pool, tenant, agent, "test")
    await config_store.save_draft(
        pool,
        tenant,
        agent,
        EscalationConfig(escalation_threshold=0.6, max_ai_turns_before_escalation=3),
        "test",
    )
    messages = (
        turns("keyword", tenant, agent, 3, KEYWORD)
        + turns("unsure", tenant, agent, 2, UNSURE)
        + turns("long", tenant, agent, 1, LONG)
        + turns("calm", tenant, agent, 0.1, CALM)
        + turns("too-old", tenant, agent, 20, KEYWORD)
        + turns("preview", tenant, agent, 1, KEYWORD, environment="preview")
    )
    async with producer(stack.settings.kafka_bootstrap_servers) as kafka_producer:
        for message in messages:
            key = f"{tenant}/{message['conversation_id']}".encode()
            await kafka_producer.send_and_wait(
                topics.CHAT_MESSAGES, json.dumps(message).encode(), key=key
            )

    async def all_stored() -> bool:
        count = await pool.fetchval(
            "SELECT sum(message_count) FROM conversations WHERE tenant_id = $1", tenant
        )
        return bool(count == len(messages))

    await eventually(all_stored)
    escalation = routed(tenant, agent=agent, conversation="unsure")
    await store(stack.app, [escalation])
    async with api_client(stack.app, token(stack.settings, "alice", tenant)) as alice:
        assert (
            await alice.post(f"/api/v1/escalations/{escalation.escalation_id}/claim")
        ).is_success
        completed = await alice.post(
            f"/api/v1/escalations/{escalation.escalation_id}/complete",
            json={"resolution_note": "The AI had it right.", "ai_could_have_handled": True},
        )
        assert completed.is_success
    await pool.execute(
        "UPDATE conversations SET missed_marked_by = 'alice', missed_marked_at = now()"
        " WHERE tenant_id = $1 AND conversation_id = 'long'",
        tenant,
    )
    return tenant, agent


async def test_the_draft_over_the_last_7_days_counts_exactly(stack: Stack, unique: str) -> None:
    tenant, agent = await known_agent(stack, unique)
    async with api_client(stack.app, token(stack.settings, "root", tenant)) as admin:
        response = await admin.post(f"/api/v1/agents/{agent}/backtest", json={})

    assert response.status_code == 200, response.text
    answer = response.json()
    report = answer["report"]
    assert (answer["source"], answer["draft"], answer["truncated"]) == (
        "stored",
        "stored_draft",
        False,
    )
    assert (answer["draft_version"], answer["published_version"]) == (2, 1)
    assert [r["conversation_id"] for r in answer["results"]] == [
        "keyword",
        "unsure",
        "long",
        "calm",
    ]
    assert (report["conversations"], report["messages"]) == (4, 12)
    assert report["configs"]["published"]["escalated"] == 1
    assert report["configs"]["published"]["by_trigger"] == {"keyword": 1}
    assert report["configs"]["draft"] == {
        "escalated": 3,
        "escalation_rate": 0.75,
        "by_trigger": {"keyword": 1, "confidence": 1, "turn_limit": 1},
        "by_urgency": {"high": 1, "medium": 1, "low": 1},
    }
    assert report["changes"] == {
        "draft": {"newly_escalating": ["unsure", "long"], "no_longer_escalating": []}
    }
    assert report["flagged"]["draft"] == {
        "false_escalations": 1,
        "no_longer_escalated": [],
        "still_escalated": ["unsure"],
        "missed": 1,
        "now_caught": ["long"],
        "still_missed": [],
    }
    assert report["flagged"]["published"]["no_longer_escalated"] == ["unsure"]


async def test_an_inline_draft_on_an_uploaded_file(stack: Stack, unique: str) -> None:
    tenant = f"t-{unique}"
    lines = [
        {"id": "a", "messages": [{"role": "customer", "text": "I want a refund"}]},
        {
            "id": "b",
            "messages": [
                {"role": "customer", "text": "Hi"},
                {"role": "ai", "text": "Hello", "ai_confidence": 0.3},
            ],
            "flag": "false_escalation",
            "config": {"ignored": True},
        },
    ]
    upload = "\n".join(json.dumps(line) for line in lines)
    async with api_client(stack.app, token(stack.settings, "root", tenant)) as admin:
        response = await admin.post(
            f"/api/v1/agents/upload-{unique}/backtest",
            json={"config": {"escalation_threshold": 0.2}, "conversations_jsonl": upload},
        )
        broken = await admin.post(
            f"/api/v1/agents/upload-{unique}/backtest",
            json={"conversations_jsonl": '{"id": "x", "messages": [{"role": "robot"}]}\nnope'},
        )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["source"], answer["draft"], answer["published_version"]) == (
        "upload",
        "inline",
        None,
    )
    assert answer["report"]["baseline"] is None
    assert answer["report"]["configs"]["draft"]["escalated"] == 1
    assert answer["report"]["flagged"]["draft"]["no_longer_escalated"] == ["b"]
    assert broken.status_code == 422
    assert {e["field"] for e in broken.json()["errors"]} == {
        "conversations_jsonl.1.messages.0.role",
        "conversations_jsonl.2",
    }


async def test_only_admins_of_the_agent_s_tenant_may_backtest(stack: Stack, unique: str) -> None:
    tenant = f"t-{unique}"
    await config_store.save_draft(pool_of(stack.app), tenant, "owned", EscalationConfig(), "test")
    async with (
        api_client(stack.app, token(stack.settings, "sam", tenant, Role.SUPERVISOR)) as supervisor,
        api_client(stack.app, token(stack.settings, "eve", f"other-{unique}")) as stranger,
    ):
        forbidden = await supervisor.post("/api/v1/agents/owned/backtest", json={})
        missing = await stranger.post("/api/v1/agents/owned/backtest", json={})
    assert forbidden.status_code == 403
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    """A detector that takes longer than any timeout: it answers nothing until the caller
    gives up and disconnects."""
    if scope["type"] == "http":
        while (await receive())["type"] != "http.disconnect":
            pass


async def test_an_unreachable_or_slow_detector_is_a_502_or_a_504(stack: Stack, unique: str) -> None:
    settings = stack.settings
    async with (
        serve(never_answers, lifespan=False) as slow,  # type: ignore[arg-type]
        api_client(stack.app, token(settings, "root", f"t-{unique}")) as admin,
    ):
        try:
            stack.app.state.backtest_settings = settings.model_copy(
                update={"detector_url": f"http://127.0.0.1:{free_port()}"}
            )
            unreachable = await admin.post(f"/api/v1/agents/new-{unique}/backtest", json={})
            stack.app.state.backtest_settings = settings.model_copy(
                update={"detector_url": f"http://{slow}", "detector_timeout_seconds": 0.5}
            )
            too_slow = await admin.post(f"/api/v1/agents/new-{unique}/backtest", json={})
        finally:
            stack.app.state.backtest_settings = settings

    assert unreachable.status_code == 502
    assert "cannot be reached" in unreachable.json()["detail"]
    assert too_slow.status_code == 504
    assert too_slow.headers["content-type"] == "application/problem+json"


FUZZ_CONFIG = """
[generation]
max-examples = 12
database = "none"

[parameters]
"path.agent_id" = {{ dictionary = "agents", probability = 0.7 }}

[dictionaries.agents]
values = ["{agent}"]
"""


async def test_schemathesis_finds_no_server_error(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    """Whatever the generator sends, the backtest answers no 5xx while the detector is up."""
    tenant, agent = await known_agent(stack, unique)
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG.format(agent=agent))
    bearer = token(stack.settings, "root", tenant)
    async with serve(stack.app, lifespan=False) as address:
        returncode, report = await schemathesis(
            address, config, bearer, "/backtest$", seed=11, within=240
        )
    assert returncode == 0, report[-6000:]
    assert "Tested: 1" in report
    assert "No issues found" in report
