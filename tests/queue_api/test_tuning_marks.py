"""Issue 9: supervisors mark conversations that should have escalated (and take marks back);
the list of conversations never escalated; who may see the tuning report; bad input answered
422 field by field; another tenant's agents and conversations never exist (404)."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from escalator_schemas.classification import TriggerKind, Urgency
from queue_api.auth import Role
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.fuzz import schemathesis
from tests.queue_api.tuning_support import START, Conversation, Escalation, at, play, record
from tests.stack import (
    api_client,
    demo_config,
    free_port,
    publish_config,
    running,
    serve,
    token,
)

pytestmark = [pytest.mark.integration]


class Queue:
    def __init__(self, app: FastAPI, settings: QueueApiSettings) -> None:
        self.app, self.settings = app, settings

    def client(self, tenant: str, sub: str = "root", role: Role = Role.ADMIN) -> httpx.AsyncClient:
        return api_client(self.app, token(self.settings, sub, tenant, role))


@pytest.fixture(scope="module")
async def queue(kafka: str, database: str) -> AsyncIterator[Queue]:
    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        detector_url=f"http://127.0.0.1:{free_port()}",  # no detector: nothing gets scored
    )
    app = create_queue_api(settings)
    async with running(app):
        yield Queue(app, settings)


async def _agent(queue: Queue, database: str, unique: str) -> tuple[str, str]:
    """An agent with conversations a, b, c (never escalated; b the most frustrated, c not
    scored) and e (escalated)."""
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    await publish_config(database, tenant, agent, demo_config())
    escalated = Escalation(
        at(0, 10), (TriggerKind.KEYWORD,), Urgency.HIGH, "refund", conversation="e"
    )
    async with queue.client(tenant) as admin:
        await play(queue.app, {"root": admin}, tenant, agent, [escalated])
    await record(
        queue.app,
        tenant,
        agent,
        [
            Conversation("a", at(0, 8), at(0, 9), 0.3),
            Conversation("b", at(1, 8), at(1, 9), 0.7),
            Conversation("c", at(1, 10), at(1, 11), None),
            Conversation("e", at(0, 9), at(0, 10), 0.9),
        ],
    )
    return tenant, agent


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


PERIOD = {"from": START.isoformat(), "to": (START + timedelta(days=3)).isoformat()}


async def test_mark_and_unmark_a_missed_escalation(
    queue: Queue, database: str, unique: str
) -> None:
    tenant, agent = await _agent(queue, database, unique)
    path = f"/api/v1/agents/{agent}/conversations/a/missed-escalation"
    async with queue.client(tenant, "bob", Role.SUPERVISOR) as bob, queue.client(tenant) as admin:
        marked = await bob.put(path, json={"note": "Asked twice for a person."})
        again = await bob.put(path, json={})
        listed = await admin.get(
            f"/api/v1/agents/{agent}/conversations/not-escalated", params=PERIOD
        )
        unmarked = await bob.delete(path)
        twice = await bob.delete(path)
        report = await admin.get(f"/api/v1/agents/{agent}/tuning-report", params=PERIOD)

    assert marked.status_code == 200, marked.text
    assert marked.json()["missed_marked_by"] == "bob"
    assert marked.json()["missed_note"] == "Asked twice for a person."
    assert marked.json()["environment"] == "published"
    assert again.json()["missed_note"] is None  # marking again replaces the note
    page = listed.json()
    assert [item["conversation_id"] for item in page["items"]] == ["b", "a", "c"]
    assert (page["total"], page["next_offset"]) == (3, None)
    assert page["items"][1]["missed_marked_by"] == "bob"
    assert unmarked.status_code == 200
    assert unmarked.json() | {"conversation_id": "a"} == {
        "conversation_id": "a",
        "environment": "published",
        "missed_marked_by": None,
        "missed_marked_at": None,
        "missed_note": None,
    }
    assert twice.status_code == 200  # taking a mark back is idempotent
    missed = report.json()["missed_escalations"]
    assert (missed["marked"], missed["frustration_detected"]) == (0, 1)


async def test_the_not_escalated_list_pages(queue: Queue, database: str, unique: str) -> None:
    tenant, agent = await _agent(queue, database, unique)
    path = f"/api/v1/agents/{agent}/conversations/not-escalated"
    async with queue.client(tenant) as admin:
        first = (await admin.get(path, params=PERIOD | {"limit": "2"})).json()
        second = (await admin.get(path, params=PERIOD | {"limit": "2", "offset": "2"})).json()
    assert [i["conversation_id"] for i in first["items"]] == ["b", "a"]
    assert (first["total"], first["next_offset"]) == (3, 2)
    assert [i["conversation_id"] for i in second["items"]] == ["c"]
    assert second["next_offset"] is None
    assert second["items"][0]["peak_frustration"] is None


async def test_refusals(queue: Queue, database: str, unique: str) -> None:
    tenant, agent = await _agent(queue, database, unique)
    other_tenant, other_agent = await _agent(queue, database, unique + "x")
    mark = f"/api/v1/agents/{agent}/conversations/a/missed-escalation"
    report = f"/api/v1/agents/{agent}/tuning-report"
    async with (
        queue.client(tenant) as admin,
        queue.client(tenant, "bob", Role.SUPERVISOR) as supervisor,
        queue.client(other_tenant) as stranger,
        api_client(queue.app) as anonymous,
    ):
        # Roles: the report and the list are for admins; no token, no answer.
        _problem(await supervisor.get(report, params=PERIOD), 403)
        _problem(await supervisor.get(f"/api/v1/agents/{agent}/conversations/not-escalated"), 403)
        _problem(await anonymous.get(report), 401)
        _problem(await anonymous.put(mark, json={}), 401)
        # Another tenant's agent, conversation, or a conversation never recorded: 404.
        _problem(await stranger.get(report, params=PERIOD), 404)
        _problem(await stranger.put(mark, json={}), 404)
        _problem(await stranger.delete(mark), 404)
        other = f"/api/v1/agents/{other_agent}/conversations/a/missed-escalation"
        _problem(await admin.put(other, json={}), 404)
        _problem(await admin.put(mark.replace("/a/", "/nobody/"), json={}), 404)
        _problem(await admin.put(mark, params={"environment": "preview"}, json={}), 404)
        # An escalated conversation is not a missed escalation.
        _problem(await admin.put(mark.replace("/a/", "/e/"), json={}), 409)
        # Invalid input: every field named.
        bad = _problem(
            await admin.put(mark, params={"environment": "live"}, json={"note": "x" * 1001}), 422
        )
        assert {e["field"] for e in bad["errors"]} == {"query.environment", "note"}
        bad = _problem(await admin.put(mark, json={"note": "a\x00b", "extra": 1}), 422)
        assert {e["field"] for e in bad["errors"]} == {"note", "extra"}
        for params, field in (
            ({"from": "2025-03-05T00:00:00Z", "to": "2025-03-04T00:00:00Z"}, "query.from"),
            ({"from": "2024-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, "query.from"),
            ({"from": "2025-03-03T00:00:00"}, "query.from"),  # no time zone: ambiguous
            ({"timezone": "Mars/Olympus_Mons"}, "query.timezone"),
            ({"timezone": "../etc/passwd"}, "query.timezone"),
        ):
            body = _problem(await admin.get(report, params=params), 422)
            assert [e["field"] for e in body["errors"]] == [field], params
        # The period defaults to the last 7 days.
        default = (await admin.get(report)).json()["period"]
    span = datetime.fromisoformat(default["to"]) - datetime.fromisoformat(default["from"])
    assert span == timedelta(days=7)


FUZZ = """
[generation]
max-examples = 10
database = "none"

[dictionaries.agents]
values = ["{agent}"]

[dictionaries.conversations]
values = ["a", "b", "c", "e"]

[parameters]
"path.agent_id" = {{ dictionary = "agents", probability = 0.8 }}
"path.conversation_id" = {{ dictionary = "conversations", probability = 0.7 }}
"""


async def test_schemathesis_finds_no_server_error(
    queue: Queue, database: str, unique: str, tmp_path: Path
) -> None:
    """Whatever schemathesis sends to the tuning endpoints, never a 5xx."""
    tenant, agent = await _agent(queue, database, unique)
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ.format(agent=agent))
    async with serve(queue.app, lifespan=False) as address:
        returncode, report = await schemathesis(
            address,
            config,
            token(queue.settings, "root", tenant, Role.ADMIN),
            r"^/api/v1/agents/\{agent_id\}/(tuning-report|conversations)",
            seed=9,
            within=120,
        )
    assert returncode == 0, report[-6000:]
    assert "Tested: 4" in report
