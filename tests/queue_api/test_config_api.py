"""Issue 4: the escalation settings API on the real PostgreSQL (and broker, which the app's
lifespan connects to): defaults, limits and checklist, roles, tenants, If-Match, history and
webhook secrets."""

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from escalator_runtime import config_store
from escalator_schemas.config import DEFAULT_ESCALATION_RESPONSE, DEFAULT_KEYWORDS
from queue_api.auth import Role
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.stack import api_client, running, token

pytestmark = [pytest.mark.integration]

ENABLED: dict[str, Any] = {
    "enabled": True,
    "trigger_conditions": [
        {
            "label": "Angry Customer Escalation",
            "description": "Escalate when the user is angry and asks for urgent refund handling.",
        }
    ],
    "escalation_response": "I have escalated your conversation to a human supervisor.",
    "supervisors": [{"id": "alice", "name": "Alice Doe", "email": "alice@example.com"}],
}


class QueueApi:
    def __init__(self, app: FastAPI, settings: QueueApiSettings) -> None:
        self.app = app
        self.settings = settings

    def client(self, tenant: str, sub: str = "root", role: Role = Role.ADMIN) -> httpx.AsyncClient:
        return api_client(self.app, token(self.settings, sub, tenant, role))


@pytest.fixture(scope="module")
async def queue_api(kafka: str, database: str) -> AsyncIterator[QueueApi]:
    settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    app = create_queue_api(settings)
    async with running(app):
        yield QueueApi(app, settings)


def _path(agent: str, suffix: str = "") -> str:
    return f"/api/v1/agents/{agent}/escalation-config{suffix}"


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    ("tier", "threshold"), [("starter", 0.7), ("professional", 0.6), ("enterprise", 0.5)]
)
async def test_an_agent_never_saved_answers_the_defaults_of_the_tenants_plan(
    queue_api: QueueApi, unique: str, tier: str, threshold: float
) -> None:
    tenant = f"t-{unique}"
    async with queue_api.client(tenant) as client:
        fresh = await client.get(_path(f"a-{unique}-new"))
        saved = await client.put(_path(f"a-{unique}-1"), json={"plan_tier": tier})
        sibling = await client.get(_path(f"a-{unique}-2"))
        published = await client.get(_path(f"a-{unique}-2"), params={"version": "published"})

    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"draft-0"'
    body = fresh.json()
    assert body["version"] == 0
    assert body["stage"] == "draft"
    assert body["updated_at"] is None
    assert body["updated_by"] is None
    defaults = body["config"]
    assert defaults["enabled"] is False
    assert defaults["plan_tier"] == "professional"
    assert defaults["escalation_threshold"] == 0.6
    assert defaults["escalation_keywords"] == list(DEFAULT_KEYWORDS)
    assert len(defaults["escalation_keywords"]) == 9
    assert defaults["max_ai_turns_before_escalation"] == 10
    assert defaults["trigger_conditions"] == []
    assert defaults["escalation_response"] == DEFAULT_ESCALATION_RESPONSE
    assert defaults["summary_language"] == "en"
    assert defaults["supervisors"] == []
    assert defaults["webhooks"] == []

    assert saved.status_code == 200, saved.text
    assert saved.json()["config"]["escalation_threshold"] == threshold
    assert sibling.json()["version"] == 0
    assert sibling.json()["config"]["plan_tier"] == tier
    assert sibling.json()["config"]["escalation_threshold"] == threshold
    assert published.json()["stage"] == "published"
    assert published.json()["version"] == 0
    assert published.headers["etag"] == '"published-0"'


async def test_enabling_answers_every_limit_and_checklist_violation_at_once(
    queue_api: QueueApi, unique: str
) -> None:
    agent = f"a-{unique}"
    invalid = {
        "enabled": True,
        "escalation_threshold": 1.5,
        "escalation_keywords": [f"keyword {n}" for n in range(31)],
        "max_ai_turns_before_escalation": 0,
        "trigger_conditions": [],
        "escalation_response": "   ",
        "summary_language": "not a language!",
        "supervisors": [
            {"id": "s1", "name": "S One", "email": "not-an-email", "active": False},
            {"id": "s1", "name": "S Two", "email": "two@example.com", "active": False},
        ],
        "webhooks": [{"id": "w1", "url": "ftp://example.com/hook"}],
        "colour": "blue",
    }
    async with queue_api.client(f"t-{unique}") as client:
        response = await client.put(_path(agent), json=invalid)
        after = await client.get(_path(agent))

    problem = _is_problem(response, 422)
    by_field = {error["field"]: error for error in problem["errors"]}
    assert set(by_field) == {
        "escalation_threshold",
        "escalation_keywords",
        "max_ai_turns_before_escalation",
        "trigger_conditions",
        "escalation_response",
        "summary_language",
        "supervisors",
        "supervisors.0.email",
        "supervisors.1.id",
        "webhooks.0.url",
        "colour",
    }
    assert by_field["trigger_conditions"]["type"] == "enablement_checklist"
    assert by_field["supervisors"]["type"] == "enablement_checklist"
    assert by_field["supervisors.1.id"]["type"] == "duplicate"
    assert by_field["escalation_threshold"]["loc"] == ["body", "escalation_threshold"]
    assert all(error["msg"] for error in problem["errors"])
    assert after.json()["version"] == 0, "nothing may be stored"


async def test_a_disabled_config_can_always_be_saved(queue_api: QueueApi, unique: str) -> None:
    agent = f"a-{unique}"
    lacking: dict[str, Any] = {"trigger_conditions": [], "supervisors": []}
    only_inactive = {
        "supervisors": [{"id": "bob", "name": "Bob", "email": "bob@example.com", "active": False}]
    }
    async with queue_api.client(f"t-{unique}") as client:
        enabled = await client.put(_path(agent), json=ENABLED)
        switched_off = await client.put(_path(agent), json={**ENABLED, "enabled": False} | lacking)
        inactive_enabled = await client.put(_path(agent), json={**ENABLED, **only_inactive})
        inactive_disabled = await client.put(
            _path(agent), json={**ENABLED, **only_inactive, "enabled": False}
        )
        over_limit = await client.put(
            _path(agent), json={"enabled": False, "max_ai_turns_before_escalation": 51}
        )

    assert enabled.status_code == 200, enabled.text
    assert switched_off.status_code == 200, switched_off.text
    assert switched_off.json()["config"]["enabled"] is False
    assert switched_off.json()["version"] == 2
    problem = _is_problem(inactive_enabled, 422)
    assert [error["field"] for error in problem["errors"]] == ["supervisors"]
    assert inactive_disabled.status_code == 200, inactive_disabled.text
    assert inactive_disabled.json()["version"] == 3
    # Limits are the storage format: they apply whether escalation is on or off.
    over = _is_problem(over_limit, 422)
    assert [error["field"] for error in over["errors"]] == ["max_ai_turns_before_escalation"]


async def test_supervisors_read_but_only_admins_write(queue_api: QueueApi, unique: str) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with queue_api.client(tenant) as admin:
        assert (await admin.put(_path(agent), json=ENABLED)).status_code == 200
    async with queue_api.client(tenant, "alice", Role.SUPERVISOR) as supervisor:
        put = await supervisor.put(_path(agent), json={**ENABLED, "enabled": False})
        publish = await supervisor.post(_path(agent, "/publish"))
        read = await supervisor.get(_path(agent))
        history = await supervisor.get(_path(agent, "/history"))
    async with api_client(queue_api.app) as anonymous:
        unauthenticated = await anonymous.get(_path(agent))

    assert "admin" in _is_problem(put, 403)["detail"]
    _is_problem(publish, 403)
    assert read.status_code == 200
    assert read.json()["config"]["enabled"] is True
    assert read.json()["version"] == 1
    assert history.status_code == 200
    assert len(history.json()["items"]) == 1
    _is_problem(unauthenticated, 401)


async def test_another_tenant_cannot_see_or_touch_the_agent(
    queue_api: QueueApi, unique: str
) -> None:
    agent = f"a-{unique}"
    async with queue_api.client(f"a-tenant-{unique}") as owner:
        assert (await owner.put(_path(agent), json=ENABLED)).status_code == 200
        assert (await owner.post(_path(agent, "/publish"))).status_code == 200
    async with queue_api.client(f"b-tenant-{unique}") as other:
        answers = [
            await other.get(_path(agent)),
            await other.get(_path(agent), params={"version": "published"}),
            await other.get(_path(agent, "/history")),
            await other.put(_path(agent), json={"enabled": False}),
            await other.post(_path(agent, "/publish")),
        ]
    async with queue_api.client(f"a-tenant-{unique}") as owner:
        still = await owner.get(_path(agent))

    for answer in answers:
        _is_problem(answer, 404)
    assert still.json()["version"] == 1
    assert still.json()["config"]["enabled"] is True


async def test_if_match_keeps_two_admins_from_overwriting_each_other(
    queue_api: QueueApi, unique: str
) -> None:
    agent = f"a-{unique}"
    async with (
        queue_api.client(f"t-{unique}", "ann") as ann,
        queue_api.client(f"t-{unique}", "ben") as ben,
    ):
        seen = (await ann.get(_path(agent))).headers["etag"]
        first = await ann.put(_path(agent), json=ENABLED, headers={"If-Match": seen})
        stale = await ben.put(
            _path(agent), json={**ENABLED, "enabled": False}, headers={"If-Match": seen}
        )
        fresh = await ben.put(
            _path(agent),
            json={**ENABLED, "escalation_keywords": ["refund"]},
            headers={"If-Match": first.headers["etag"]},
        )
        stale_publish = await ann.post(
            _path(agent, "/publish"), headers={"If-Match": first.headers["etag"]}
        )
        # Two admins saving on the same version at the same moment: exactly one wins.
        racing = await asyncio.gather(
            *(
                client.put(
                    _path(agent),
                    json={**ENABLED, "escalation_keywords": [f"word of {name}"]},
                    headers={"If-Match": fresh.headers["etag"]},
                )
                for name, client in (("ann", ann), ("ben", ben))
            )
        )
        publish = await ann.post(_path(agent, "/publish"))
        draft = await ann.get(_path(agent))

    assert seen == '"draft-0"'
    assert first.status_code == 200
    assert first.headers["etag"] == '"draft-1"'
    assert "version 1" in _is_problem(stale, 412)["detail"]
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"draft-2"'
    _is_problem(stale_publish, 412)
    assert sorted(answer.status_code for answer in racing) == [200, 412]
    assert publish.status_code == 200
    assert publish.headers["etag"] == '"published-1"'
    assert publish.json()["stage"] == "published"
    assert draft.json()["version"] == 3
    winner = next(answer for answer in racing if answer.status_code == 200)
    assert (
        draft.json()["config"]["escalation_keywords"]
        == (winner.json()["config"]["escalation_keywords"])
    )


async def test_every_change_is_in_the_history_with_who_when_and_what(
    queue_api: QueueApi, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with queue_api.client(tenant, "ann") as ann, queue_api.client(tenant, "ben") as ben:
        missing = await ann.post(_path(agent, "/publish"))
        assert (await ann.put(_path(agent), json=ENABLED)).status_code == 200
        changed = {**ENABLED, "escalation_keywords": ["refund", "lawyer"]}
        assert (await ann.put(_path(agent), json=changed)).status_code == 200
        assert (await ben.post(_path(agent, "/publish"))).status_code == 200
        history = (await ann.get(_path(agent, "/history"))).json()
        first_page = (await ann.get(_path(agent, "/history"), params={"limit": 2})).json()
        second_page = (
            await ann.get(
                _path(agent, "/history"), params={"limit": 2, "cursor": first_page["next_cursor"]}
            )
        ).json()

    _is_problem(missing, 409)
    entries = history["items"]
    assert [(e["action"], e["stage"], e["version"], e["changed_by"]) for e in entries] == [
        ("publish", "published", 1, "ben"),
        ("save", "draft", 2, "ann"),
        ("save", "draft", 1, "ann"),
    ]
    assert entries[1]["changes"] == {
        "escalation_keywords": {"from": list(DEFAULT_KEYWORDS), "to": ["refund", "lawyer"]}
    }
    assert entries[2]["changes"]["enabled"] == {"from": None, "to": True}
    assert entries[0]["changes"]["escalation_keywords"]["to"] == ["refund", "lawyer"]
    assert all(entry["changed_at"] for entry in entries)
    assert history["next_cursor"] is None
    assert [e["id"] for e in first_page["items"] + second_page["items"]] == [
        e["id"] for e in entries
    ]
    assert second_page["next_cursor"] is None


async def test_webhook_secrets_are_generated_masked_and_kept(
    queue_api: QueueApi, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    hook = {
        "id": "crm",
        "url": "https://crm.example.com/hooks",
        "event_types": ["escalation.routed"],
    }
    async with queue_api.client(tenant) as client:
        created = await client.put(_path(agent), json={**ENABLED, "webhooks": [hook]})
        read = await client.get(_path(agent))
        round_trip = await client.put(
            _path(agent), json=read.json()["config"], headers={"If-Match": read.headers["etag"]}
        )
        omitted = await client.put(_path(agent), json={**ENABLED, "webhooks": [hook]})
        foreign_mask = await client.put(
            _path(agent), json={**ENABLED, "webhooks": [{**hook, "secret": "*" * 34 + "abcd"}]}
        )
        await client.post(_path(agent, "/publish"))
        published = await client.get(_path(agent), params={"version": "published"})
        history = await client.get(_path(agent, "/history"))
        rotated_secret = "whsec_" + base64.b64encode(b"r" * 24).decode()
        rotated = await client.put(
            _path(agent), json={**ENABLED, "webhooks": [{**hook, "secret": rotated_secret}]}
        )
    pool = queue_api.app.state.context.pool
    stored = await config_store.load(pool, tenant, agent, "draft")

    assert created.status_code == 200, created.text
    secret = created.json()["config"]["webhooks"][0]["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", secret), "answered in full, once"
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    masked = read.json()["config"]["webhooks"][0]["secret"]
    assert masked == "*" * (len(secret) - 4) + secret[-4:]
    assert round_trip.status_code == 200, round_trip.text
    assert round_trip.json()["config"]["webhooks"][0]["secret"] == masked
    assert omitted.json()["config"]["webhooks"][0]["secret"] == masked, "kept, not regenerated"
    assert [e["field"] for e in _is_problem(foreign_mask, 422)["errors"]] == ["webhooks.0.secret"]
    assert published.json()["config"]["webhooks"][0]["secret"] == masked
    assert secret not in history.text
    assert secret not in json.dumps(published.json())
    assert rotated.json()["config"]["webhooks"][0]["secret"].endswith(rotated_secret[-4:])
    assert stored is not None
    assert stored.config.webhooks[0].secret == rotated_secret


async def test_openapi_documents_the_settings_endpoints(queue_api: QueueApi) -> None:
    async with api_client(queue_api.app) as client:
        document = (await client.get("/openapi.json")).json()
    config_path = document["paths"]["/api/v1/agents/{agent_id}/escalation-config"]
    put = config_path["put"]
    assert {"200", "401", "403", "404", "412", "422"} <= set(put["responses"])
    assert "application/problem+json" in put["responses"]["422"]["content"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert {"enabled", "supervisors", "webhooks", "trigger_conditions"} <= set(body["properties"])
    assert "ETag" in config_path["get"]["responses"]["200"]["headers"]
    assert "/api/v1/agents/{agent_id}/escalation-config/publish" in document["paths"]
    assert "/api/v1/agents/{agent_id}/escalation-config/history" in document["paths"]
    schema = document["components"]["schemas"]["AgentEscalationConfig"]
    assert set(schema["properties"]) == {
        "tenant_id",
        "agent_id",
        "version",
        "stage",
        "updated_at",
        "updated_by",
        "config",
    }
