"""The realtime stream on a real uvicorn server: who sees which change, auth on connect,
replay after a reconnect, heartbeats."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from escalator_schemas.chat import Environment
from escalator_schemas.events import EscalationRouted
from queue_api import changes, handlers
from queue_api.auth import Role
from queue_api.hub import StreamHub
from queue_api.models import EscalationSummary
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import pool_of, pushes, receive_json, receive_until, routed, store
from tests.stack import api_client, serve, token

pytestmark = pytest.mark.integration

Messages = list[dict[str, Any]]


def _heartbeat_at_least(seq: int) -> Callable[[Messages], bool]:
    """Done once a heartbeat says the connection has passed ``seq``: every change up to it
    that the connection may see has been pushed by then."""

    def done(messages: Messages) -> bool:
        return any(m["type"] == "heartbeat" and m["seq"] >= seq for m in messages)

    return done


async def _open(address: str, bearer: str, since: int | None = None) -> ClientConnection:
    url = f"ws://{address}/api/v1/stream?access_token={bearer}"
    if since is not None:
        url += f"&since={since}"
    return await connect(url, open_timeout=10)


async def test_bad_tokens_and_bad_since_close_the_connection(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    good = token(queue_settings, "alice", f"t-{unique}", Role.SUPERVISOR)
    codes = {}
    async with serve(queue_api, lifespan=False) as address:
        for name, query in {
            "missing": "",
            "forged": "access_token=" + good[:-4] + "AAAA",
            "garbage": "access_token=not-a-jwt",
            "since": f"access_token={good}&since=-1",
        }.items():
            async with connect(f"ws://{address}/api/v1/stream?{query}") as websocket:
                with pytest.raises(ConnectionClosed) as closed:
                    await receive_json(websocket)
            assert closed.value.rcvd is not None
            codes[name] = closed.value.rcvd.code
    assert codes == {"missing": 4401, "forged": 4401, "garbage": 4401, "since": 1008}


async def test_each_change_reaches_only_those_who_may_see_it(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant, other = f"t-{unique}", f"u-{unique}"
    for_alice = routed(tenant, supervisors=["alice", "carol"])
    for_bob = routed(tenant, supervisors=["bob"])
    unrouted = routed(tenant, supervisors=())
    elsewhere = routed(other, supervisors=["alice"])
    async with serve(queue_api, lifespan=False) as address:
        sockets = {
            "alice": await _open(address, token(queue_settings, "alice", tenant, Role.SUPERVISOR)),
            "bob": await _open(address, token(queue_settings, "bob", tenant, Role.SUPERVISOR)),
            "admin": await _open(address, token(queue_settings, "root", tenant, Role.ADMIN)),
            "other": await _open(address, token(queue_settings, "alice", other, Role.ADMIN)),
        }
        try:
            for websocket in sockets.values():
                assert (await receive_json(websocket))["type"] == "ready"
            await store(queue_api, [for_alice, for_bob, unrouted])
            await store(queue_api, [elsewhere])
            seen = {
                name: await receive_until(
                    websocket, _heartbeat_at_least(1 if name == "other" else 3)
                )
                for name, websocket in sockets.items()
            }
            async with api_client(
                queue_api, token(queue_settings, "carol", tenant, Role.SUPERVISOR)
            ) as carol:
                assert (
                    await carol.post(f"/api/v1/escalations/{for_alice.escalation_id}/claim")
                ).status_code == 200
            claimed = await receive_until(sockets["alice"], lambda ms: len(pushes(ms)) >= 1)
            bob_after = await receive_until(sockets["bob"], _heartbeat_at_least(4))
        finally:
            for websocket in sockets.values():
                await websocket.close()

    def ids(messages: Messages) -> list[str]:
        return [m["escalation"]["escalation_id"] for m in pushes(messages)]

    assert ids(seen["alice"]) == [str(for_alice.escalation_id)]
    assert ids(seen["bob"]) == [str(for_bob.escalation_id)]
    assert sorted(ids(seen["admin"])) == sorted(
        str(e.escalation_id) for e in (for_alice, for_bob, unrouted)
    )
    # The other tenant's admin sees its own escalation only, numbered in its own sequence.
    assert ids(seen["other"]) == [str(elsewhere.escalation_id)]
    assert pushes(seen["other"])[0]["seq"] == 1
    assert [m["type"] for m in pushes(seen["admin"])] == ["escalation.created"] * 3
    assert [m["seq"] for m in pushes(seen["admin"])] == [1, 2, 3]
    update = pushes(claimed)[0]
    assert (update["type"], update["action"], update["seq"]) == ("escalation.updated", "claimed", 4)
    assert update["escalation"]["status"] == "in_progress"
    assert update["escalation"]["assigned_to"] == "carol"
    assert pushes(bob_after) == []


async def test_a_reconnecting_client_gets_what_it_missed_once_and_in_order(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    bearer = token(queue_settings, "alice", tenant, Role.SUPERVISOR)
    first = [routed(tenant) for _ in range(3)]
    missed = [routed(tenant) for _ in range(20)]
    live = [routed(tenant) for _ in range(5)]
    async with serve(queue_api, lifespan=False) as address:
        async with await _open(address, bearer) as websocket:
            assert await receive_json(websocket) == {"type": "ready", "seq": 0}
            await store(queue_api, first)
            before = await receive_until(websocket, lambda ms: len(pushes(ms)) >= 3)
        last_seq = pushes(before)[-1]["seq"]
        for event in missed:
            await store(queue_api, [event])
        async with await _open(address, bearer, since=last_seq) as websocket:
            # More arrive while the missed ones are replayed: none may be lost or repeated.
            await store(queue_api, live)
            after = await receive_until(websocket, lambda ms: len(pushes(ms)) >= 25)
            after += await receive_until(websocket, _heartbeat_at_least(28))
        async with await _open(address, bearer, since=10_000) as websocket:
            reset = await receive_json(websocket)

    received = [m["escalation"]["escalation_id"] for m in pushes(after)]
    assert received == [str(e.escalation_id) for e in missed + live]
    assert [m["seq"] for m in pushes(after)] == list(range(4, 29))
    ready = [m for m in after if m["type"] == "ready"]
    assert len(ready) == 1
    assert reset == {"type": "reset", "seq": 28}


async def test_a_missed_notification_is_caught_up_by_the_poll(
    queue_api: FastAPI,
    queue_settings: QueueApiSettings,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant)
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    async with serve(queue_api, lifespan=False) as address, await _open(address, bearer) as ws:
        assert (await receive_json(ws))["type"] == "ready"
        # The change is committed, but its NOTIFY goes where nobody listens.
        monkeypatch.setattr(changes, "CHANNEL", "escalator_nobody_listens")
        await store(queue_api, [event])
        monkeypatch.undo()
        caught_up = await receive_until(ws, lambda ms: len(pushes(ms)) >= 1, within=15)
    assert pushes(caught_up)[0]["escalation"]["escalation_id"] == str(event.escalation_id)


async def test_a_client_behind_the_kept_history_is_told_to_reload(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    bearer = token(queue_settings, "alice", tenant, Role.SUPERVISOR)
    await store(queue_api, [routed(tenant) for _ in range(4)])
    # As the retention window does: the two oldest changes are gone.
    await pool_of(queue_api).execute(
        "DELETE FROM escalation_changes WHERE tenant_id = $1 AND seq <= 2", tenant
    )
    async with serve(queue_api, lifespan=False) as address:
        async with await _open(address, bearer, since=1) as websocket:
            too_old = await receive_json(websocket)
        async with await _open(address, bearer, since=2) as websocket:
            kept = await receive_until(websocket, lambda ms: bool(ms) and ms[-1]["type"] == "ready")
    assert too_old == {"type": "reset", "seq": 4}
    assert [m["seq"] for m in pushes(kept)] == [3, 4]


async def test_changes_committed_in_this_process_are_pushed_without_their_notification(
    queue_api: FastAPI,
    queue_settings: QueueApiSettings,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler hands what it committed to the hub: no NOTIFY and no read-back needed. A
    change announced after a gap (one the hub has not seen) makes it read the gap from the
    database first, so the pushes stay in order."""
    tenant = f"t-{unique}"
    first, gap, after = routed(tenant), routed(tenant), routed(tenant)
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    hub: StreamHub = queue_api.state.stream_hub

    async def nothing_behind() -> set[str]:
        return set()

    async with serve(queue_api, lifespan=False) as address, await _open(address, bearer) as ws:
        assert (await receive_json(ws))["type"] == "ready"
        # Neither the notification nor the safety-net poll can deliver anything now.
        monkeypatch.setattr(changes, "CHANNEL", "escalator_nobody_listens")
        monkeypatch.setattr(hub, "_behind", nothing_behind)
        await hub.announce(await _stored(queue_api, [first]))
        announced = await receive_until(ws, lambda ms: len(pushes(ms)) >= 1)
        await _stored(queue_api, [gap])  # committed, never announced
        await hub.announce(await _stored(queue_api, [after]))
        caught_up = await receive_until(ws, lambda ms: len(pushes(ms)) >= 2)

    assert [m["escalation"]["escalation_id"] for m in pushes(announced + caught_up)] == [
        str(event.escalation_id) for event in (first, gap, after)
    ]
    assert [m["seq"] for m in pushes(announced + caught_up)] == [1, 2, 3]


async def _stored(app: FastAPI, events: list[EscalationRouted]) -> list[changes.Change]:
    async with pool_of(app).acquire() as connection, connection.transaction():
        stored = await handlers.store_routed(connection, events)
    return stored.pushed


@pytest.fixture
def feed_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every read of a tenant's feed from the database (the hub catching up), as it happens."""
    reads: list[tuple[Any, ...]] = []
    since = changes.since

    async def counted(*args: Any) -> list[changes.Change]:
        reads.append(args)
        return await since(*args)

    monkeypatch.setattr(changes, "since", counted)
    return reads


async def test_a_new_escalation_is_pushed_as_the_queue_lists_it(
    queue_api: FastAPI, unique: str
) -> None:
    """A new escalation's change is built by PostgreSQL, in the statement that stores it: its
    summary is the model's own JSON of the stored row (timestamps to the microsecond, or whole
    seconds; no customer), and the feed replays exactly what was pushed."""
    tenant = f"t-{unique}"
    whole_second = routed(tenant, occurred_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    anonymous = routed(tenant).model_copy(update={"customer": None})
    preview = routed(tenant, environment=Environment.PREVIEW, supervisors=())
    async with pool_of(queue_api).acquire() as connection:
        stored = await handlers.store_routed(connection, [whole_second, anonymous, preview], 90)
    assert [row["escalation_id"] for row in stored.created] == [
        event.escalation_id for event in (whole_second, anonymous, preview)
    ]
    assert [change.seq for change in stored.pushed] == [1, 2, 3]
    for row, change in zip(stored.created, stored.pushed, strict=True):
        expected = EscalationSummary.model_validate(dict(row)).model_dump(mode="json")
        assert json.loads(change.text)["escalation"] == expected
    assert json.loads(stored.pushed[0].text)["escalation"]["detected_at"] == "2026-11-25T08:00:00Z"
    replayed = await changes.since(pool_of(queue_api), tenant, 0, 10)
    assert [json.loads(c.text) for c in replayed] == [json.loads(c.text) for c in stored.pushed]


async def test_a_change_this_process_commits_is_not_read_back_on_its_notification(
    queue_api: FastAPI,
    queue_settings: QueueApiSettings,
    unique: str,
    feed_reads: list[tuple[Any, ...]],
) -> None:
    """The notification may reach the hub before the commit returns to the handler: the hub,
    seeing its own signature on it, leaves the change to ``announce`` instead of reading the
    feed."""
    tenant = f"t-{unique}"
    event = routed(tenant)
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    hub: StreamHub = queue_api.state.stream_hub
    async with serve(queue_api, lifespan=False) as address, await _open(address, bearer) as ws:
        assert (await receive_json(ws))["type"] == "ready"
        async with pool_of(queue_api).acquire() as connection:
            stored = await handlers.store_routed(connection, [event], origin=hub.origin)
        await asyncio.sleep(0.5)  # the notification has arrived by now
        assert feed_reads == []
        await hub.announce(stored.pushed)
        pushed = await receive_until(ws, lambda ms: len(pushes(ms)) >= 1)
    assert [m["escalation"]["escalation_id"] for m in pushes(pushed)] == [str(event.escalation_id)]
    assert feed_reads == []


async def test_a_change_of_this_process_rolled_back_holds_nothing_up(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    """Its number goes to the next change committed (another writer's), which is pushed."""
    tenant = f"t-{unique}"
    lost, kept = routed(tenant), routed(tenant)
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    hub: StreamHub = queue_api.state.stream_hub
    async with serve(queue_api, lifespan=False) as address, await _open(address, bearer) as ws:
        assert (await receive_json(ws))["type"] == "ready"
        with pytest.raises(RuntimeError):
            await _signed_then_rolled_back(queue_api, hub, lost)
        [change] = await _stored(queue_api, [kept])  # committed by someone else, same number
        pushed = await receive_until(ws, lambda ms: len(pushes(ms)) >= 1, within=15)
    assert change.seq == 1
    assert [m["escalation"]["escalation_id"] for m in pushes(pushed)] == [str(kept.escalation_id)]


async def _signed_then_rolled_back(app: FastAPI, hub: StreamHub, event: EscalationRouted) -> None:
    async with pool_of(app).acquire() as connection, connection.transaction():
        await handlers.store_routed(connection, [event], origin=hub.origin)
        raise RuntimeError("the transaction fails")


async def test_a_claim_is_pushed_without_reading_it_back(
    queue_api: FastAPI,
    queue_settings: QueueApiSettings,
    unique: str,
    feed_reads: list[tuple[Any, ...]],
) -> None:
    tenant = f"t-{unique}"
    event = routed(tenant, supervisors=["carol"])
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    async with serve(queue_api, lifespan=False) as address, await _open(address, bearer) as ws:
        assert (await receive_json(ws))["type"] == "ready"
        await store(queue_api, [event])
        await receive_until(ws, lambda ms: len(pushes(ms)) >= 1)
        feed_reads.clear()  # that one went the notification's way
        async with api_client(
            queue_api, token(queue_settings, "carol", tenant, Role.SUPERVISOR)
        ) as carol:
            claim = await carol.post(f"/api/v1/escalations/{event.escalation_id}/claim")
        claimed = await receive_until(ws, lambda ms: len(pushes(ms)) >= 1)
        await asyncio.sleep(0.5)  # its notification has arrived by now
    assert claim.status_code == 200
    assert [(m["action"], m["seq"]) for m in pushes(claimed)] == [("claimed", 2)]
    assert feed_reads == []
