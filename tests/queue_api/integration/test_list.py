"""``GET /api/v1/escalations``: a page of the caller's queue, newest first, each item the
model's JSON of its row; cursors walk every escalation once; filters and visibility hold on
every page."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from escalator_schemas.chat import Environment
from queue_api import repository
from queue_api.auth import Role
from queue_api.models import EscalationSummary
from queue_api.repository import Visibility
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import pool_of, routed, store
from tests.stack import api_client, now, token

pytestmark = pytest.mark.integration


async def _walk(client: Any, limit: int, **filters: str) -> list[list[dict[str, Any]]]:
    """Every page, following the cursors."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        params = {"limit": limit, **filters} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/v1/escalations", params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_pages_walk_the_queue_newest_first_once_each(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    tenant = f"t-{unique}"
    start = now()
    # Two detected in the same microsecond: the id orders them.
    times = [start - timedelta(minutes=n) for n in range(6)] + [start - timedelta(minutes=3)]
    published_events = [
        routed(tenant, supervisors=["alice"] if n % 2 else ["bob"], occurred_at=at)
        for n, at in enumerate(times)
    ]
    preview = routed(tenant, environment=Environment.PREVIEW, supervisors=["alice"])
    events = [*published_events, preview]
    mine = {
        str(e.escalation_id) for e in events if e.matched_supervisors[0].supervisor_id == "alice"
    }
    await store(queue_api, events)
    await store(queue_api, [routed(f"other-{unique}", supervisors=["alice"])])

    admin_token = token(queue_settings, "root", tenant, Role.ADMIN)
    alice_token = token(queue_settings, "alice", tenant, Role.SUPERVISOR)
    async with (
        api_client(queue_api, admin_token) as admin,
        api_client(queue_api, alice_token) as alice,
    ):
        everything = await _walk(admin, 3)
        alices = await _walk(alice, 2)
        published = await _walk(admin, 50, environment="published")
        one_page = await _walk(admin, 8)

    ids = [item["escalation_id"] for page in everything for item in page]
    assert [len(page) for page in everything] == [3, 3, 2]
    assert len(set(ids)) == len(events)
    newest_first = sorted(events, key=lambda e: (e.occurred_at, str(e.escalation_id)), reverse=True)
    assert ids == [str(event.escalation_id) for event in newest_first]
    assert [len(page) for page in one_page] == [8]

    assert {item["escalation_id"] for page in alices for item in page} == mine
    assert all(len(page) <= 2 for page in alices)
    assert {item["environment"] for page in published for item in page} == {"published"}
    assert len(published[0]) == 7

    # Each item is the model's own JSON of its row (what the rows-based listing returns).
    rows, _next = await repository.list_escalations(
        pool_of(queue_api), Visibility(tenant, "root", admin=True), {}, None, 50
    )
    expected = [EscalationSummary.model_validate(dict(row)).model_dump(mode="json") for row in rows]
    assert [item for page in everything for item in page] == expected


async def test_an_empty_queue_is_one_empty_page(
    queue_api: FastAPI, queue_settings: QueueApiSettings, unique: str
) -> None:
    async with api_client(
        queue_api, token(queue_settings, "root", f"t-{unique}", Role.ADMIN)
    ) as admin:
        assert await _walk(admin, 5) == [[]]
