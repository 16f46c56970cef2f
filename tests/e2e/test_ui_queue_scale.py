"""Issue 6, a queue of thousands in the browser: pages of the API cursor are fetched as the list
scrolls, only the rows in view exist in the page, and the keyboard reaches all of them."""

import time

import pytest
from playwright.async_api import expect

from queue_api.auth import Role
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import routed, store
from tests.ui.browser import WIDE, PageProblems, UiServer, chromium, sign_in_locally

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

expect.set_options(timeout=30_000)

COUNT = 2500


async def test_a_queue_of_thousands_stays_small_in_the_page(
    kafka: str, database: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    problems = PageProblems()
    async with UiServer(lambda: create_queue_api(settings)) as server, chromium() as browser:
        assert server.app is not None
        events = [routed(tenant) for _ in range(COUNT)]
        for start in range(0, COUNT, 500):
            await store(server.app, events[start : start + 500])

        page = problems.watch(await browser.new_page(viewport=WIDE))
        await sign_in_locally(page, server.url, "alice", tenant, Role.ADMIN.value)
        await expect(page.locator("#list-count")).to_have_text("100 loaded · more as you scroll")
        rows = page.locator(".escalation-row")
        assert await rows.count() < 40  # windowed: the rows in view and a small margin

        started = time.monotonic()
        listbox = page.get_by_role("listbox")
        await listbox.focus()
        while await page.locator("#list-count").text_content() != f"{COUNT} escalations":
            await page.keyboard.press("End")  # to the last loaded row: the next page follows
            await page.wait_for_timeout(50)
            assert time.monotonic() - started < 60, "paging through the queue took too long"
        await page.keyboard.press("End")
        assert await rows.count() < 40
        last = page.locator(f'.escalation-row[aria-posinset="{COUNT}"]')
        await expect(last).to_have_attribute("aria-setsize", str(COUNT))
        await expect(listbox).to_have_attribute(
            "aria-activedescendant", await last.get_attribute("id") or ""
        )

        await page.keyboard.press("Home")
        await expect(page.locator('.escalation-row[aria-posinset="1"]')).to_be_visible()
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        second = page.locator('.escalation-row[aria-posinset="2"]')
        await expect(second).to_have_attribute("aria-selected", "true")
        await expect(page.locator("#detail-title")).to_have_text("Dana Reyes")
        await expect(page).to_have_url(
            f"{server.url}/queue?environment=published&escalation={events[-2].escalation_id}"
        )
    assert problems.errors == []
