"""The live configuration view the router (and detector) decide with, on the real PostgreSQL:
changes arrive by NOTIFY, a view behind another service's version catches up on demand, preview
reads the draft and published the published version, and a stale read never wins."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from escalator_runtime import config_store
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Pool, create_pool
from escalator_schemas.chat import Environment
from tests.stack import demo_config, eventually

pytestmark = [pytest.mark.integration]


@pytest.fixture
async def pool(database: str) -> AsyncIterator[Pool]:
    test_pool = await create_pool(database, 4)
    await config_store.migrate(test_pool)
    yield test_pool
    await test_pool.close()


async def _started_on_version_1(database: str, pool: Pool, tenant: str, agent: str) -> ConfigView:
    """A view started, with notifications, on an agent published once."""
    await config_store.save_draft(pool, tenant, agent, demo_config(), "ann")
    await config_store.publish(pool, tenant, agent, "ann")
    view = ConfigView(database, pool, refresh_seconds=3600)
    await view.start()
    return view


async def test_changes_arrive_live_and_stages_stay_apart(
    database: str, pool: Pool, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    view = await _started_on_version_1(database, pool, tenant, agent)
    try:
        changed = demo_config(escalation_keywords=["wobbly widget"])
        await config_store.save_draft(pool, tenant, agent, changed, "ann")

        async def draft_arrived() -> bool:
            draft = view.get(tenant, agent, Environment.PREVIEW)
            return draft is not None and draft.version == 2

        await eventually(draft_arrived, within=5, interval=0.01)
        published = view.get(tenant, agent, Environment.PUBLISHED)
        await config_store.publish(pool, tenant, agent, "ann")

        async def publish_arrived() -> bool:
            live = view.get(tenant, agent, Environment.PUBLISHED)
            return live is not None and live.version == 2

        await eventually(publish_arrived, within=5, interval=0.01)
        live = view.get(tenant, agent, Environment.PUBLISHED)
    finally:
        await view.stop()

    assert published is not None
    assert published.version == 1
    assert "wobbly widget" not in published.config.escalation_keywords
    assert live is not None
    assert live.config.escalation_keywords == ["wobbly widget"]


async def test_a_view_behind_catches_up_and_never_goes_back(
    database: str, pool: Pool, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    await config_store.save_draft(pool, tenant, agent, demo_config(), "ann")
    await config_store.publish(pool, tenant, agent, "ann")
    # Not started: no notifications reach it, as when one is still on its way.
    view = ConfigView(database, pool)
    await view.reload()
    await config_store.publish(pool, tenant, agent, "ann")

    stale = view.get(tenant, agent, Environment.PUBLISHED)
    unchanged = await view.at_least(tenant, agent, Environment.PUBLISHED, 1)
    caught_up = await view.at_least(tenant, agent, Environment.PUBLISHED, 2)
    # A full reload that read the rows before the newest write must not undo it: simulate one
    # by rolling the row back underneath the view.
    await pool.execute(
        "UPDATE agent_configs SET version = 1"
        " WHERE tenant_id = $1 AND agent_id = $2 AND stage = 'published'",
        tenant,
        agent,
    )
    await view.reload()
    after_stale_reload = view.get(tenant, agent, Environment.PUBLISHED)

    assert stale is not None
    assert stale.version == 1
    assert unchanged is not None
    assert unchanged.version == 1, "no read when the view is new enough"
    assert caught_up is not None
    assert caught_up.version == 2
    assert after_stale_reload is not None
    assert after_stale_reload.version == 2


async def test_settled_waits_for_the_changes_already_notified(
    database: str, pool: Pool, unique: str
) -> None:
    """A message read right after a publish meets the published version once the view has
    settled, though the notification was still being read when the message came."""
    tenant, agent = f"t-{unique}", f"a-{unique}"
    view = await _started_on_version_1(database, pool, tenant, agent)
    try:
        notified = asyncio.Event()
        on_notify = view._on_notify

        def seen(*args: Any) -> None:
            on_notify(*args)
            notified.set()

        async def listening() -> bool:
            return view._listener is not None

        await eventually(listening, within=5, interval=0.01)
        assert view._listener is not None
        await view._listener.remove_listener(config_store.CHANNEL, on_notify)
        await view._listener.add_listener(config_store.CHANNEL, seen)
        await config_store.publish(pool, tenant, agent, "ann")
        await asyncio.wait_for(notified.wait(), 5)
        before = view.get(tenant, agent, Environment.PUBLISHED)
        await view.settled()
        after = view.get(tenant, agent, Environment.PUBLISHED)
    finally:
        await view.stop()
    assert before is not None
    assert before.version == 1  # the reload had only just started
    assert after is not None
    assert after.version == 2
