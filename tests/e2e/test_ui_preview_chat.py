"""Issue 6, preview chat: a merchant saves a draft on the settings page and tries it by hand in
the browser (keyword, confidence threshold, turn limit), as the customer and as the AI. Each
message goes through queue-api onto ``chat.messages`` (environment ``preview``); the detector
judges it with the draft; queue-api's ``chat.handoffs`` consumer brings the handoff message back
into the chat, and the escalation appears in the Preview Queue."""

import os
import re

import pytest
from playwright.async_api import Page, expect

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from queue_api.main import create_app as create_queue_api
from queue_api.preview_api import CONSUMER_GROUP
from queue_api.settings import QueueApiSettings
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.conftest import position_groups_at_end
from tests.stack import running
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

RESPONSE = "A human supervisor is taking over this conversation right now."


async def _save_draft(page: Page, base: str, agent: str) -> None:
    await page.goto(f"{base}/settings?agent={agent}")
    await page.get_by_role("switch", name="Disabled").check()
    await page.get_by_role("button", name="+ Add condition").click()
    await page.locator("#f-trigger_conditions-0-label").fill("Legal Threat")
    await page.locator("#f-trigger_conditions-0-description").fill(
        "Escalate when the customer threatens legal action."
    )
    keyword = page.get_by_placeholder("Type a keyword and press Enter")
    await keyword.fill("wobbly widget")
    await keyword.press("Enter")
    await expect(page.locator("#keywords")).to_contain_text("wobbly widget")
    await expect(page.locator("#keyword-count")).to_have_text("10 / 30 keywords.")
    await page.get_by_label("Turn limit").fill("2")
    await page.get_by_label("Escalation response message").fill(RESPONSE)
    await page.get_by_role("button", name="+ Add supervisor").click()
    await page.locator("#f-supervisors-0-name").fill("Alice Doe")
    await page.locator("#f-supervisors-0-email").fill("alice@example.com")
    await page.locator("#f-supervisors-0-id").fill("alice")
    await page.get_by_role("button", name="+ Add webhook").click()
    await page.locator("#f-webhooks-0-url").fill("https://hooks.example.com/escalator")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#save-status")).to_have_text("Saved · draft version 1.")
    # The generated signing secret is shown once, in full.
    await expect(page.locator("[data-field='webhooks.0.secret']")).to_contain_text("whsec_")
    assert await contrast_failures(page) == []


async def _write(page: Page, role: str, text: str, confidence: float | None = None) -> None:
    await page.get_by_role("radio", name=role, exact=True).check()
    if confidence is not None:
        await page.locator("#confidence").fill(str(confidence))
    await page.locator("#message-text").fill(text)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#chat-log")).to_contain_text(text)


async def test_preview_chat_keyword_threshold_and_turn_limit(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    # A consumer group of this run, positioned at the end like the services' own groups.
    await position_groups_at_end(kafka, [CONSUMER_GROUP + os.environ["KAFKA_GROUP_SUFFIX"]])
    queue_settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka, database_url=database, stream_heartbeat_seconds=2.0
    )
    problems = PageProblems()
    async with (
        running(
            create_detector(DetectorSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database)),
        ),
        UiServer(lambda: create_queue_api(queue_settings)) as server,
        chromium() as browser,
    ):
        page = problems.watch(await browser.new_page(viewport=WIDE))
        await sign_in_locally(page, server.url, "alice", tenant, "admin")
        await _save_draft(page, server.url, agent)

        await page.get_by_role("link", name="Open preview chat").click()
        await expect(page).to_have_url(re.compile(rf"/preview\?agent={agent}"))
        await expect(page.locator("#draft")).to_contain_text("wobbly widget")
        await expect(page.locator("#draft")).to_contain_text("after 2 AI replies")

        # Keyword: the handoff message comes back into the chat, and the escalation is listed.
        await _write(page, "Customer", "Hello, the wobbly widget I bought does not fit.")
        await expect(page.locator("#chat-log .handoff")).to_contain_text(RESPONSE)
        await expect(page.locator("#ai-state")).to_have_text("AI paused: human handoff")
        outcome = page.locator("#outcome")
        await expect(outcome).to_contain_text('Keyword · keyword "wobbly widget"')
        await screenshot(page, "preview-chat-wide")
        assert await contrast_failures(page) == []

        # It is in the Preview Queue.
        await outcome.get_by_role("link", name="Open in the Preview Queue").click()
        await expect(page).to_have_url(re.compile(r"/queue\?environment=preview"))
        await expect(page.locator("#env-banner")).to_be_visible()
        await expect(page.get_by_role("radio", name="Preview")).to_be_checked()
        await expect(page.locator("#detail-title")).to_have_text("Preview Customer")
        await expect(page.locator("#messages")).to_contain_text("wobbly widget")
        await expect(page.locator(".escalation-row")).to_have_count(1)
        await screenshot(page, "queue-preview-wide")
        await page.go_back()

        # Confidence threshold: an AI reply below the draft's 0.60.
        await page.get_by_role("button", name="New conversation").click()
        await expect(page.locator("#conversation-id")).to_have_text("new conversation")
        await _write(page, "Customer", "When does my parcel arrive?")
        await _write(page, "AI", "It should arrive on Monday.", confidence=0.2)
        await expect(page.locator("#confidence-hint")).to_contain_text("Below the draft")
        await expect(outcome).to_contain_text("Low AI confidence")
        await expect(page.locator("#chat-log .handoff")).to_contain_text(RESPONSE)

        # Turn limit: the second confident AI reply reaches the draft's limit of 2.
        await page.get_by_role("button", name="New conversation").click()
        await _write(page, "Customer", "Which colours does the lamp come in?")
        await _write(page, "AI", "The lamp comes in white and black.", confidence=0.95)
        await _write(page, "Customer", "And the matching shade?")
        await expect(outcome).to_contain_text("No escalation yet")
        await _write(page, "AI", "The matching shade comes in white only.", confidence=0.95)
        await expect(outcome).to_contain_text("Turn limit")
        await expect(page.locator("#chat-log .handoff")).to_contain_text(RESPONSE)

        # All three are in the Preview Queue, none in the Published one.
        await page.goto(f"{server.url}/queue?environment=preview")
        await expect(page.locator(".escalation-row")).to_have_count(3)
        # The turn-limit conversation, latest message first, then oldest first.
        await page.locator(".escalation-row", has_text="limit of 2 AI turns").click()
        messages = page.locator("#messages > li")
        await expect(messages).to_have_count(4)
        await expect(messages.first).to_contain_text("The matching shade comes in white only.")
        await page.get_by_role("switch", name="Latest first").uncheck()
        await expect(messages.first).to_contain_text("Which colours does the lamp come in?")
        await page.get_by_role("radio", name="Published").check()
        await expect(page.locator("#list-count")).to_have_text("No escalations")

    assert problems.errors == []
