"""Issue 9, the tuning report page in the real browser: the known week's figures, charts,
advice and tables as an admin reads them, and "Mark as missed" on a conversation that was not
escalated (the missed-escalation figure follows)."""

import re

import pytest
from playwright.async_api import Page, expect

from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.queue_api.tuning_week import known_week
from tests.stack import free_port
from tests.ui.browser import (
    NARROW,
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


async def _figure(page: Page, key: str, value: str, detail: str) -> None:
    card = page.locator(f"[data-figure='{key}']")
    await expect(card.locator(".value")).to_have_text(value)
    await expect(card.locator(".detail")).to_have_text(detail)


async def test_the_tuning_page_shows_the_week_and_marks_a_missed_escalation(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        detector_url=f"http://127.0.0.1:{free_port()}",  # no detector: nothing gets scored
    )
    problems = PageProblems()
    async with UiServer(lambda: create_queue_api(settings)) as server, chromium() as browser:
        assert server.app is not None
        week = await known_week(server.app, settings, database, tenant, agent)
        page = problems.watch(await browser.new_page(viewport=WIDE, timezone_id="UTC"))
        await sign_in_locally(page, server.url, "root", tenant, "admin")
        await expect(page.get_by_role("link", name="Tuning")).to_be_visible()
        await page.goto(f"{server.url}/tuning?agent={agent}&from=2025-03-03&to=2025-03-05")

        await _figure(page, "conversations", "14", "6 escalated")
        await _figure(page, "escalation-rate", "42.9%", "Above 20%")
        await _figure(page, "escalations", "6", "1 critical · 3 high · 1 medium · 1 low")
        await _figure(page, "false-escalations", "2", "66.7% of 3 completed")
        await _figure(page, "missed-escalations", "3", "1 marked · 2 frustrated · 1 not scored")
        await _figure(
            page, "notification-gaps", "2", "supervisors without escalations · 1 unrouted"
        )
        await _figure(page, "time-to-claim", "3 min", "p90 7.6 min · max 10 min · 1 unclaimed")
        await _figure(page, "time-to-resolve", "10 min", "p90 18 min · max 20 min · 3 open")
        await expect(page.get_by_role("link", name="Tuning")).to_have_attribute(
            "aria-current", "page"
        )

        # Charts: one bar per day (all above 20%), one row per trigger kind.
        bars = page.locator("#rate-chart rect.bar")
        await expect(bars).to_have_count(3)
        assert [await bar.get_attribute("data-day") for bar in await bars.all()] == [
            "2025-03-03",
            "2025-03-04",
            "2025-03-05",
        ]
        await expect(page.locator("#rate-chart rect.bar-high")).to_have_count(3)
        await expect(bars.first.locator("title")).to_have_text(
            "Mar 3: 33.3% (2 of 6 conversations)"
        )
        await expect(page.locator("#trigger-chart .trigger-row")).to_have_count(7)
        await expect(page.locator("#trigger-chart [data-kind='keyword'] > title")).to_have_text(
            "Keyword: decided 2 (33.3%), fired in 3 (50%)"
        )

        advice = page.locator("#advice [data-advice]")
        await expect(advice).to_have_count(4)
        await expect(page.locator("[data-advice='false_escalations']")).to_contain_text(
            "lower the escalation threshold by 0.05 (from 0.60 to 0.55)"
        )
        await expect(page.locator("[data-advice='missed_escalations'] .tag")).to_have_count(3)

        await expect(page.locator("#false-table tbody tr")).to_have_count(2)
        await expect(page.locator("#false-table tbody tr").first).to_have_attribute(
            "data-escalation", week.ids[1]
        )
        missed_rows = page.locator("#missed-table tbody tr")
        await expect(missed_rows).to_have_count(3)
        await expect(missed_rows.first).to_contain_text("Marked by bob")
        await expect(page.locator("#gaps-table tr[data-supervisor='bob']")).to_contain_text(
            "Scopes match, never notified"
        )
        await expect(page.locator("#gaps-table tr[data-supervisor='carol']")).to_contain_text(
            "Scopes match no escalation"
        )
        rows = page.locator("#not-escalated-table tbody tr")
        await expect(rows).to_have_count(7)
        assert [await row.get_attribute("data-conversation") for row in await rows.all()] == [
            "conv-9", "conv-12", "conv-8", "conv-10", "conv-7", "conv-13", "conv-11",
        ]  # fmt: skip
        await screenshot(page, "tuning-report-wide", full_page=True)
        assert await contrast_failures(page) == []
        # On a phone: nothing wider than the screen but the tables, which scroll on their own.
        await page.set_viewport_size(NARROW)
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        await screenshot(page, "tuning-report-narrow", full_page=True)
        await page.set_viewport_size(WIDE)

        # Mark conv-8 as missed: the figure and the tables follow; then take it back.
        await page.get_by_role("button", name="Mark as missed: conv-8").click()
        await _figure(page, "missed-escalations", "4", "2 marked · 2 frustrated · 1 not scored")
        await expect(
            page.locator("#not-escalated-table tr[data-conversation='conv-8']")
        ).to_contain_text("Marked by root")
        await expect(page.get_by_role("button", name="Unmark: conv-8")).to_be_focused()
        await expect(missed_rows).to_have_count(4)
        await page.get_by_role("button", name="Unmark: conv-8").click()
        await _figure(page, "missed-escalations", "3", "1 marked · 2 frustrated · 1 not scored")

        # Another period, chosen in the form, lands in the URL.
        await page.get_by_label("From").fill("2025-01-29")
        await page.get_by_label("To (included)").fill("2025-01-31")
        await page.get_by_role("button", name="Show", exact=True).click()
        await _figure(page, "escalations", "0", "None")
        await expect(page).to_have_url(re.compile(r"from=2025-01-29&to=2025-01-31"))
        await expect(page.locator("#advice")).to_contain_text("Nothing to tune")
    assert problems.errors == []
