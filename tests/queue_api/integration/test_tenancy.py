"""One merchant never sees another merchant's customers: not in the list, not by id, not by
acting on it, not on the stream. Another tenant's escalation is a 404, never a 403."""

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import pushes, receive_json, receive_until, routed, store
from tests.stack import api_client, serve, token

pytestmark = pytest.mark.integration


async def test_tenant_a_cannot_read_act_on_or_stream_tenant_b(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant_a, tenant_b = f"a-{unique}", f"b-{unique}"
    # Same supervisor id in both tenants: ids are only unique within a tenant.
    theirs = routed(tenant_b, supervisors=["alice"])
    path = f"/api/v1/escalations/{theirs.escalation_id}"
    answers = {}
    async with (
        serve(queue_api, lifespan=False) as address,
        api_client(queue_api, token(queue_settings, "root", tenant_a, Role.ADMIN)) as admin_a,
        api_client(queue_api, token(queue_settings, "alice", tenant_a, Role.SUPERVISOR)) as alice_a,
        connect(
            f"ws://{address}/api/v1/stream?access_token="
            + token(queue_settings, "root", tenant_a, Role.ADMIN)
        ) as stream_a,
        connect(
            f"ws://{address}/api/v1/stream?access_token="
            + token(queue_settings, "root", tenant_b, Role.ADMIN)
        ) as stream_b,
    ):
        assert (await receive_json(stream_a))["type"] == "ready"
        assert (await receive_json(stream_b))["type"] == "ready"
        await store(queue_api, [theirs])
        # Once B's admin has it, the hub has handled it; A's next heartbeat closes A's window.
        seen_b = await receive_until(stream_b, lambda ms: len(pushes(ms)) >= 1)
        seen_a = await receive_until(
            stream_a, lambda ms: bool(ms) and ms[-1]["type"] == "heartbeat"
        )

        for name, client in {"admin": admin_a, "supervisor": alice_a}.items():
            listed = (await client.get("/api/v1/escalations")).json()
            assert listed == {"items": [], "next_cursor": None}, name
            answers[(name, "get")] = (await client.get(path)).status_code
            for action in ("claim", "release", "complete", "reassign-to-ai", "summary"):
                response = await client.post(f"{path}/{action}", json={"resolution_note": "x"})
                answers[(name, action)] = response.status_code
                assert response.headers["content-type"] == "application/problem+json"

        async with api_client(
            queue_api, token(queue_settings, "root", tenant_b, Role.ADMIN)
        ) as admin_b:
            still = (await admin_b.get(path)).json()

    assert set(answers.values()) == {404}, answers
    assert pushes(seen_a) == []
    assert seen_a[-1]["seq"] == 0
    assert pushes(seen_b)[0]["escalation"]["escalation_id"] == str(theirs.escalation_id)
    assert (still["status"], still["assigned_to"]) == ("pending", None)
    assert [entry["action"] for entry in still["audit"]] == ["detected", "routed"]
