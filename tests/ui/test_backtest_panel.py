"""Issue 11, in the browser: on the settings page a merchant tries the draft on the last 7 days
of stored conversations — figures, the chart by trigger, the conversations that would newly or
no longer escalate — then changes a setting without saving and tries again."""

from datetime import timedelta

import pytest
from playwright.async_api import expect

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_runtime import config_store
from escalator_runtime.db import create_pool
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import EscalationConfig
from queue_api import conversation_repository
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests import backtest_samples as samples
from tests.stack import now, serve
from tests.ui.browser import (
    WIDE,
    PageProblems,
    UiServer,
    chromium,
    contrast_failures,
    screenshot,
    sign_in_locally,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

expect.set_options(timeout=30_000)

CONVERSATIONS: dict[str, samples.Turns] = {
    "keyword": samples.KEYWORD,
    "unsure": samples.UNSURE,
    "long": samples.LONG,
    "calm": samples.CALM,
}


async def known_week(database: str, tenant: str, agent: str) -> None:
    """Published: threshold 0.5. Draft: threshold 0.6 and a turn limit of 3. Four stored
    conversations of the last days."""
    pool = await create_pool(database, 2)
    try:
        await config_store.migrate(pool)
        await config_store.save_draft(
            pool, tenant, agent, EscalationConfig(escalation_threshold=0.5), "test"
        )
        await config_store.publish(pool, tenant, agent, "test")
        draft = EscalationConfig(escalation_threshold=0.6, max_ai_turns_before_escalation=3)
        await config_store.save_draft(pool, tenant, agent, draft, "test")
        rows = []
        for position, (name, turns) in enumerate(CONVERSATIONS.items()):
            start = now() - timedelta(days=5 - position)
            rows += [
                conversation_repository.message_row(
                    ChatMessage(
                        message_id=f"{name}-{index}",
                        conversation_id=name,
                        tenant_id=tenant,
                        agent_id=agent,
                        role="customer" if confidence is None else "ai",
                        text=text,
                        sent_at=start + timedelta(seconds=20 * index),
                        ai_confidence=confidence,
                    )
                )
                for index, (text, confidence) in enumerate(turns)
            ]
        async with pool.acquire() as connection:
            await conversation_repository.store_messages(connection, rows)
    finally:
        await pool.close()


async def test_try_the_draft_on_the_last_7_days(kafka: str, database: str, unique: str) -> None:
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    detector = create_detector(
        DetectorSettings(
            kafka_bootstrap_servers=kafka, database_url=database, judge_use_model=False
        )
    )
    problems = PageProblems()
    async with serve(detector, lifespan=False) as address:
        settings = QueueApiSettings(
            kafka_bootstrap_servers=kafka, database_url=database, detector_url=f"http://{address}"
        )
        async with UiServer(lambda: create_queue_api(settings)) as server, chromium() as browser:
            await known_week(database, tenant, agent)
            page = problems.watch(await browser.new_page(viewport=WIDE))
            await sign_in_locally(page, server.url, "alice", tenant, "admin")
            await page.goto(f"{server.url}/settings?agent={agent}")

            await page.get_by_role("button", name="Try this draft on the last 7 days").click()
            status = page.locator("#backtest-status")
            await expect(status).to_contain_text("Replayed 4 conversations")
            figures = page.locator("#backtest-figures")
            await expect(figures).to_contain_text("Draft escalation rate75%3 escalated")
            await expect(figures).to_contain_text("Published escalation rate25%1 escalated")
            newly = page.locator("#backtest-newly li")
            await expect(newly).to_have_count(2)
            await expect(newly.nth(0)).to_contain_text("unsure — Low AI confidence, Medium")
            await expect(newly.nth(1)).to_contain_text("long — Turn limit, Low")
            await expect(page.locator("#backtest-no-longer")).to_contain_text("None.")
            chart = page.locator("svg.backtest-chart")
            await expect(chart).to_have_attribute("role", "img")
            await expect(chart.locator("rect.bar-draft")).to_have_count(4)  # legend + 3 triggers
            table = page.locator("#backtest-table")
            await expect(table.get_by_role("row", name="Trigger: Turn limit 1 0")).to_be_visible()
            await page.locator("#backtest-card").scroll_into_view_if_needed()
            await screenshot(page, "settings-backtest-wide")
            assert await contrast_failures(page) == []

            # Enabled, with a turn limit of 10, not saved: the long conversation no longer changes.
            await page.get_by_role("switch", name="Disabled").check()
            await page.get_by_label("Turn limit").fill("10")
            await page.get_by_role("button", name="Try this draft on the last 7 days").click()
            await expect(newly).to_have_count(1)
            await expect(newly.first).to_contain_text("unsure")
            await expect(figures).to_contain_text("Draft escalation rate50%2 escalated")

    assert problems.errors == []
