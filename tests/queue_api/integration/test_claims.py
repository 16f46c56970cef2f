"""Claim, release, complete, reassign: one winner among concurrent claimers, who may do what,
and the field and body limits."""

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import routed, store
from tests.stack import api_client, serve, token

pytestmark = pytest.mark.integration

CLAIMERS = 50


async def _claim_all(clients: list[httpx.AsyncClient], path: str) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.post(path) for client in clients)))


def _assert_one_winner(responses: list[httpx.Response]) -> int:
    assert Counter(r.status_code for r in responses) == {200: 1, 409: CLAIMERS - 1}
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    assert responses[winner].json()["status"] == "in_progress"
    assert responses[winner].json()["assigned_to"] == f"s{winner}"
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.headers["content-type"] == "application/problem+json"
        assert loser.json()["detail"] == f"already claimed by s{winner}"
    return winner


async def _claims_audited(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    detail = (await client.get(path)).json()
    return [entry for entry in detail["audit"] if entry["action"] == "claimed"]


async def test_fifty_concurrent_claims_through_the_asgi_app_have_one_winner(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant, supervisors=[f"s{i}" for i in range(CLAIMERS)])
    await store(queue_api, [event])
    path = f"/api/v1/escalations/{event.escalation_id}"
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                api_client(queue_api, token(queue_settings, f"s{i}", tenant, Role.SUPERVISOR))
            )
            for i in range(CLAIMERS)
        ]
        responses = await _claim_all(clients, path + "/claim")
        winner = _assert_one_winner(responses)
        claimed = await _claims_audited(clients[winner], path)
    assert [entry["actor"] for entry in claimed] == [f"s{winner}"]


async def test_fifty_concurrent_claims_over_http_have_one_winner(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant, supervisors=[f"s{i}" for i in range(CLAIMERS)])
    await store(queue_api, [event])
    path = f"/api/v1/escalations/{event.escalation_id}"
    async with serve(queue_api, lifespan=False) as address, AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://{address}",
                    headers={
                        "Authorization": "Bearer "
                        + token(queue_settings, f"s{i}", tenant, Role.SUPERVISOR)
                    },
                    timeout=30,
                )
            )
            for i in range(CLAIMERS)
        ]
        responses = await _claim_all(clients, path + "/claim")
        winner = _assert_one_winner(responses)
        claimed = await _claims_audited(clients[winner], path)
    assert [entry["actor"] for entry in claimed] == [f"s{winner}"]


async def test_who_may_release_complete_and_reassign(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant, supervisors=["alice", "carol"])
    await store(queue_api, [event])
    path = f"/api/v1/escalations/{event.escalation_id}"

    def client(sub: str, role: Role = Role.SUPERVISOR) -> httpx.AsyncClient:
        return api_client(queue_api, token(queue_settings, sub, tenant, role))

    async with (
        client("alice") as alice,
        client("carol") as carol,
        client("bob") as bob,
        client("root", Role.ADMIN) as admin,
    ):
        # Bob was not routed this escalation: for him it does not exist.
        assert (await bob.get(path)).status_code == 404
        assert (await bob.post(path + "/claim")).status_code == 404

        assert (await alice.post(path + "/claim")).status_code == 200
        assert (await carol.post(path + "/release")).status_code == 403
        refused = await carol.post(path + "/complete", json={"resolution_note": "done"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await carol.post(path + "/reassign-to-ai")).status_code == 403

        released = await admin.post(path + "/release")
        assert released.status_code == 200
        assert released.json()["status"] == "pending"
        assert released.json()["assigned_to"] is None
        assert (
            await alice.post(path + "/complete", json={"resolution_note": "x"})
        ).status_code == 409

        assert (await carol.post(path + "/claim")).status_code == 200
        for body in ({}, {"resolution_note": ""}, {"resolution_note": "   "}):
            invalid = await carol.post(path + "/complete", json=body)
            assert invalid.status_code == 422
            assert invalid.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in invalid.json()["errors"]] == ["resolution_note"]
        too_long = await carol.post(path + "/complete", json={"resolution_note": "x" * 5001})
        assert too_long.status_code == 422
        unknown = await carol.post(
            path + "/complete", json={"resolution_note": "ok", "resolved": True}
        )
        assert unknown.status_code == 422
        huge = await carol.post(
            path + "/complete", content=b'{"resolution_note": "' + b"x" * 2_000_000 + b'"}'
        )
        assert huge.status_code == 413
        assert huge.headers["content-type"] == "application/problem+json"

        done = await carol.post(
            path + "/complete",
            json={"resolution_note": "Refund issued; no follow-up.", "ai_could_have_handled": True},
        )
        assert done.status_code == 200
        completed = done.json()
        for action in ("/claim", "/release", "/complete", "/reassign-to-ai"):
            again = await admin.post(path + action, json={"resolution_note": "again"})
            assert again.status_code == 409, action

    assert completed["status"] == "completed"
    assert completed["resolution_note"] == "Refund issued; no follow-up."
    assert completed["ai_could_have_handled"] is True
    assert completed["completed_at"] is not None
    timeline = [(e["action"], e["actor"]) for e in completed["audit"]]
    assert timeline == [
        ("detected", "detector"),
        ("routed", "router"),
        ("claimed", "alice"),
        ("released", "root"),
        ("claimed", "carol"),
        ("completed", "carol"),
    ]
    assert completed["audit"][3]["detail"] == {"owner": "alice"}


async def test_reassign_to_ai_completes_and_flags_the_escalation(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    pending, unrouted = routed(tenant), routed(tenant, supervisors=())
    await store(queue_api, [pending, unrouted])
    async with (
        api_client(queue_api, token(queue_settings, "alice", tenant, Role.SUPERVISOR)) as alice,
        api_client(queue_api, token(queue_settings, "root", tenant, Role.ADMIN)) as admin,
    ):
        reassigned = await alice.post(f"/api/v1/escalations/{pending.escalation_id}/reassign-to-ai")
        # Unrouted escalations are the admins' only.
        hidden = await alice.post(f"/api/v1/escalations/{unrouted.escalation_id}/claim")
        claimed = await admin.post(f"/api/v1/escalations/{unrouted.escalation_id}/claim")
    assert reassigned.status_code == 200
    body = reassigned.json()
    assert (body["status"], body["reassigned_to_ai"]) == ("completed", True)
    assert body["audit"][-1]["action"] == "reassigned_to_ai"
    assert body["audit"][-1]["actor"] == "alice"
    assert hidden.status_code == 404
    assert claimed.status_code == 200
    assert claimed.json()["assigned_to"] == "root"
