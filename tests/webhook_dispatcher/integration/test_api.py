"""queue-api's webhook endpoints on the dispatcher's tables: the delivery log, redelivery,
replay, secret rotation (verified by the reference library with both secrets), 503 without the
dispatcher's tables."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from escalator_runtime import config_store
from escalator_runtime.config_store import new_webhook_secret
from escalator_schemas.chat import Environment
from queue_api.auth import Role
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.stack import api_client, eventually, now, publish_config, running, token
from tests.webhook_dispatcher.harness import (
    Received,
    attempts,
    detected,
    dispatching,
    enqueue,
    finished,
    hook,
    pool_of,
    receiving,
    webhooks_config,
)

pytestmark = pytest.mark.integration


@asynccontextmanager
async def queue_api(kafka: str, database: str) -> AsyncIterator[tuple[FastAPI, QueueApiSettings]]:
    settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    app = create_queue_api(settings)
    async with running(app):
        yield app, settings


async def _view_has_secret(dispatcher: FastAPI, tenant: str, agent: str, secret: str) -> bool:
    configs = dispatcher.state.context.extras["configs"]
    current = configs.get(tenant, agent, Environment.PUBLISHED)
    return current is not None and current.config.webhooks[0].secret == secret


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    first = new_webhook_secret()
    async with (
        receiving() as receiver,
        pool_of(database) as pool,
        queue_api(kafka, database) as (app, settings),
        dispatching(kafka, database) as dispatcher,
        api_client(app, token(settings, "root", tenant)) as admin,
    ):
        subscription = hook("crm", receiver.url, first)
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        path = f"/api/v1/agents/{agent}/webhooks/crm/rotate-secret"

        rotated = await admin.post(path)
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()["secret"]
        assert second.startswith("whsec_")
        assert second != first
        assert rotated.json()["versions"] == {"draft": 2, "published": 2}
        assert rotated.json()["previous_secret_expires_at"] is not None
        assert rotated.headers["cache-control"] == "no-store"
        await eventually(lambda: _view_has_secret(dispatcher, tenant, agent, second))
        event = detected(tenant, agent, f"c-{unique}", n=1)
        await finished(pool, await enqueue(pool, [event], [subscription]))

        # Rotating with no overlap drops the secret being replaced at once.
        third = (await admin.post(path, params={"overlap_seconds": 0})).json()["secret"]
        await eventually(lambda: _view_has_secret(dispatcher, tenant, agent, third))
        later = detected(tenant, agent, f"c-{unique}", n=2)
        await finished(pool, await enqueue(pool, [later], [subscription]))

        supervisor = token(settings, "sue", tenant, Role.SUPERVISOR)
        forbidden = await admin.post(path, headers={"Authorization": f"Bearer {supervisor}"})
        stranger = token(settings, "eve", f"other-{unique}")
        foreign = await admin.post(path, headers={"Authorization": f"Bearer {stranger}"})
        unknown = await admin.post(f"/api/v1/agents/{agent}/webhooks/nope/rotate-secret")
        history = await pool.fetchval(
            "SELECT string_agg(changes::text, ' ') FROM agent_config_changes WHERE agent_id = $1",
            agent,
        )

    during, after = receiver.requests
    assert during.webhook_id == str(event.event_id)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(first).verify(during.body, during.headers)
    Webhook(second).verify(during.body, during.headers)
    Webhook(third).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(second).verify(after.body, after.headers)
    assert forbidden.status_code == 403
    assert foreign.status_code == 404
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert first not in history
    assert second not in history


async def test_delivery_log_redelivery_and_replay(kafka: str, database: str, unique: str) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    healthy = False

    async def until_fixed(_index: int, _request: Received) -> Response:
        return Response(status_code=200 if healthy else 500)

    async with (
        receiving(until_fixed) as receiver,
        pool_of(database) as pool,
        queue_api(kafka, database) as (app, settings),
        dispatching(kafka, database, retry_schedule_seconds=(0.0, 0.1)),
        api_client(app, token(settings, "root", tenant)) as admin,
    ):
        subscription = hook("crm", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        since = now() - timedelta(seconds=1)
        events = [detected(tenant, agent, f"c-{unique}", n=n) for n in range(3)]
        ids = []
        for event in events:  # one by one: created_at orders them
            ids += await enqueue(pool, [event], [subscription])
        await finished(pool, ids)

        first_page = (await admin.get("/api/v1/webhooks/crm/deliveries?limit=2")).json()
        cursor = first_page["next_cursor"]
        second_page = (
            await admin.get(
                "/api/v1/webhooks/crm/deliveries", params={"limit": 2, "cursor": cursor}
            )
        ).json()

        healthy = True
        redelivered = await admin.post(f"/api/v1/webhooks/deliveries/{ids[0]}/redeliver")
        [row] = await finished(pool, [ids[0]])
        replayed = await admin.post(
            "/api/v1/webhooks/crm/replay", params={"since": since.isoformat()}
        )
        rows = await finished(pool, ids)
        again = await admin.post("/api/v1/webhooks/crm/replay", params={"since": since.isoformat()})
        naive = await admin.post(
            "/api/v1/webhooks/crm/replay", params={"since": "2025-01-01T00:00"}
        )
        missing = await admin.post(f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/redeliver")
        stranger = token(settings, "eve", f"other-{unique}")
        foreign_list = await admin.get(
            "/api/v1/webhooks/crm/deliveries", headers={"Authorization": f"Bearer {stranger}"}
        )
        foreign_redeliver = await admin.post(
            f"/api/v1/webhooks/deliveries/{ids[0]}/redeliver",
            headers={"Authorization": f"Bearer {stranger}"},
        )
        supervisor = token(settings, "sue", tenant, Role.SUPERVISOR)
        forbidden = await admin.get(
            "/api/v1/webhooks/crm/deliveries", headers={"Authorization": f"Bearer {supervisor}"}
        )
        final_log = (await admin.get("/api/v1/webhooks/crm/deliveries")).json()
        first_attempts = await attempts(pool, ids[0])

    newest_first = [str(i) for i in reversed(ids)]
    assert [d["id"] for d in first_page["items"]] == newest_first[:2]
    assert [d["id"] for d in second_page["items"]] == newest_first[2:]
    assert second_page["next_cursor"] is None
    listed = first_page["items"][0]
    assert listed["status"] == "failed"
    assert listed["event_id"] == str(events[-1].event_id)
    assert listed["payload"]["event_id"] == str(events[-1].event_id)
    assert [a["status_code"] for a in listed["attempts"]] == [500, 500]
    assert listed["attempts"][0]["response_headers"]["content-length"] == "0"
    assert first_page["endpoints"][0]["url"] == receiver.url
    assert first_page["endpoints"][0]["failing_since"] is not None

    assert redelivered.status_code == 202
    assert redelivered.json()["status"] == "pending"
    assert row["status"] == "succeeded"
    assert [a["trigger"] for a in first_attempts] == ["scheduled", "scheduled", "manual"]
    assert replayed.status_code == 202
    assert replayed.json()["replayed"] == 2
    assert all(r["status"] == "succeeded" for r in rows)
    assert again.json()["replayed"] == 0
    assert naive.status_code == 422
    # Every event was sent with its own id each time: 2 failed tries and 1 success each.
    for event in events:
        assert receiver.ids().count(str(event.event_id)) == 3
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert foreign_list.json()["items"] == []
    assert foreign_redeliver.status_code == 404
    assert forbidden.status_code == 403
    assert all(d["status"] == "succeeded" for d in final_log["items"])
    assert final_log["endpoints"][0]["failing_since"] is None


async def test_410_disabled_endpoint_is_reported_and_redelivery_switches_it_on(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    gone = True

    async def until_back(_index: int, _request: Received) -> Response:
        return Response(status_code=410 if gone else 204)

    async with (
        receiving(until_back) as receiver,
        pool_of(database) as pool,
        queue_api(kafka, database) as (app, settings),
        dispatching(kafka, database),
        api_client(app, token(settings, "root", tenant)) as admin,
    ):
        subscription = hook("crm", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        [first] = await enqueue(pool, [detected(tenant, agent, f"c-{unique}", n=1)], [subscription])
        await finished(pool, [first])
        notices = (await admin.get("/api/v1/webhooks/notifications")).json()
        log = (await admin.get("/api/v1/webhooks/crm/deliveries")).json()
        gone = False
        await admin.post(f"/api/v1/webhooks/deliveries/{first}/redeliver")
        [row] = await finished(pool, [first])
        [second] = await enqueue(
            pool, [detected(tenant, agent, f"c-{unique}", n=2)], [subscription]
        )
        [later] = await finished(pool, [second])

    [notice] = notices["items"]
    assert notice["kind"] == "endpoint_disabled"
    assert notice["webhook_id"] == "crm"
    assert notice["reason"] == "the receiver answered 410 Gone"
    assert log["endpoints"][0]["disabled_reason"] == "the receiver answered 410 Gone"
    assert row["status"] == "succeeded"
    assert later["status"] == "succeeded"
    assert len(receiver.requests) == 3


async def test_without_the_dispatcher_tables_the_api_answers_503(
    kafka: str, postgres_server_url: str, unique: str
) -> None:
    name = f"escalator_test_nodispatch_{unique}"
    admin_connection = await asyncpg.connect(postgres_server_url)
    await admin_connection.execute(f'CREATE DATABASE "{name}"')
    await admin_connection.close()
    parts = urlsplit(postgres_server_url)
    database = urlunsplit(parts._replace(path="/" + name))
    try:
        async with (
            queue_api(kafka, database) as (app, settings),
            api_client(app, token(settings, "root", f"t-{unique}")) as admin,
        ):
            tenant = f"t-{unique}"
            subscription = hook("crm", "https://hooks.example.com/", new_webhook_secret())
            await publish_config(database, tenant, "a", webhooks_config(subscription))
            answers: dict[str, httpx.Response] = {
                "list": await admin.get("/api/v1/webhooks/crm/deliveries"),
                "redeliver": await admin.post(
                    f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/redeliver"
                ),
                "replay": await admin.post(
                    "/api/v1/webhooks/crm/replay", params={"since": now().isoformat()}
                ),
                "notifications": await admin.get("/api/v1/webhooks/notifications"),
                "rotate": await admin.post("/api/v1/agents/a/webhooks/crm/rotate-secret"),
            }
            async with pool_of(database) as pool:
                stored = await config_store.load(pool, tenant, "a", "published")
    finally:
        admin_connection = await asyncpg.connect(postgres_server_url)
        await admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_connection.close()

    # The rotation was rolled back: the secret in force is still the old one.
    assert stored is not None
    assert stored.version == 1
    assert stored.config.webhooks[0].secret == subscription.secret
    for what, answer in answers.items():
        body: dict[str, Any] = answer.json()
        assert answer.status_code == 503, what
        assert answer.headers["content-type"] == "application/problem+json"
        assert "webhook-dispatcher" in body["detail"]
