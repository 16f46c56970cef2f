"""Issue 6: the seed's validation flow in a real browser (Debian's Chromium).

Detector, router and queue-api run in-process on the real broker and database; queue-api
serves the workspace on a real uvicorn server. A merchant signs in, configures and publishes an
agent on the settings page; an angry customer's message published to Kafka appears in the queue
live; it is claimed, summarized and completed, and shows under Completed. Then the narrow-screen
drawer, and the connection indicator across an API restart (Reconnecting, then Connected, and
what was published meanwhile arrives without a reload). Screenshots of both pages, wide and
narrow, go to tests/artifacts/screenshots/.
"""

import asyncio
import json
import re
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Page, expect

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_schemas import topics
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.stack import now, producer, running
from tests.ui.browser import (
    COUNT_BEEPS,
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

RESPONSE = (
    "I understand this issue is urgent. I have escalated your conversation to a human"
    " supervisor, and they will continue from here as soon as possible."
)


async def _angry_customer(
    kafka_producer: AIOKafkaProducer, tenant: str, agent: str, name: str
) -> str:
    conversation = f"c-{uuid.uuid4().hex[:10]}"
    message = {
        "message_id": f"m-{uuid.uuid4().hex[:10]}",
        "conversation_id": conversation,
        "tenant_id": tenant,
        "agent_id": agent,
        "environment": "published",
        "role": "customer",
        "text": "My order arrived broken. I want a refund NOW, this is ridiculous",
        "sent_at": now().isoformat(),
        "customer": {"id": f"cus-{conversation}", "name": name, "email": "dana@example.com"},
        "metadata": {"area": "order"},
    }
    await kafka_producer.send_and_wait(
        topics.CHAT_MESSAGES, json.dumps(message).encode(), key=conversation.encode()
    )
    return conversation


async def _configure_and_publish(page: Page, base: str, agent: str) -> None:
    await page.goto(f"{base}/settings?agent={agent}")
    enabled = page.get_by_role("switch", name="Disabled")
    await expect(enabled).not_to_be_checked()
    # Disabled: the other cards are not actionable yet.
    await expect(page.get_by_role("button", name="+ Add condition")).to_be_disabled()
    await expect(page.get_by_role("button", name="+ Add supervisor")).to_be_disabled()

    await enabled.check()
    await expect(page.get_by_role("switch", name="Enabled")).to_be_checked()
    await expect(page.get_by_role("button", name="+ Add condition")).to_be_enabled()

    # Saving the bare switch answers every missing piece of the checklist, next to its field.
    await page.get_by_role("button", name="Save", exact=True).click()
    summary = page.locator("#error-summary")
    await expect(summary).to_contain_text("Add at least one trigger condition")
    await expect(summary).to_contain_text("Assign at least one active supervisor")
    await expect(page.locator("[data-field=trigger_conditions] > .field-error")).to_contain_text(
        "trigger condition"
    )
    await expect(page.locator("[data-field=supervisors] > .field-error")).to_be_visible()
    await screenshot(page, "settings-validation")

    await page.get_by_role("button", name="+ Add condition").click()
    await page.locator("#f-trigger_conditions-0-label").fill("Angry Customer Escalation")
    await page.locator("#f-trigger_conditions-0-description").fill(
        "Escalate when user expresses anger, repeated complaint, or asks immediate human"
        " intervention."
    )
    await page.get_by_label("Escalation response message").fill(RESPONSE)
    await page.get_by_label("Summary language").select_option("en")
    await page.get_by_role("button", name="+ Add supervisor").click()
    await page.locator("#f-supervisors-0-name").fill("Alice Doe")
    await page.locator("#f-supervisors-0-email").fill("alice@example")
    await page.locator("#f-supervisors-0-id").fill("alice")

    # A field-level error from the server (422 errors[].field) shows beside the field.
    await page.get_by_role("button", name="Save", exact=True).click()
    email = page.locator("#f-supervisors-0-email")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("[data-field='supervisors.0'] .field-error")).to_contain_text(
        "valid email"
    )
    await email.fill("alice@example.com")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#save-status")).to_have_text("Saved · draft version 1.")
    await expect(page.locator("#error-summary")).to_be_empty()
    await expect(email).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#version-line")).to_contain_text("Unpublished changes")
    await screenshot(page, "settings-wide", full_page=True)
    assert await contrast_failures(page) == []

    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("#banner")).to_contain_text("Published")
    await expect(page.locator("#version-line")).to_contain_text("Published is up to date")


async def _stale_draft_is_refused(page: Page, base: str, agent: str) -> None:
    """Optimistic concurrency: a save over someone else's newer draft says so clearly."""
    await page.locator("#f-turns").fill("12")
    # Someone else saves first (another admin, straight through the API).
    token = await page.evaluate("JSON.parse(sessionStorage.getItem('escalator.session')).token")
    status = await page.evaluate(
        """async ([url, token]) => {
            const headers = {Authorization: `Bearer ${token}`, "Content-Type": "application/json"};
            const current = await (await fetch(url, {headers})).json();
            current.config.max_ai_turns_before_escalation = 15;
            delete current.config.plan_tier;
            const body = JSON.stringify(current.config);
            const put = await fetch(url, {method: "PUT", headers, body});
            return put.status;
        }""",
        [f"{base}/api/v1/agents/{agent}/escalation-config", token],
    )
    assert status == 200
    await page.get_by_role("button", name="Save", exact=True).click()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("changed by someone else")
    await banner.get_by_role("button", name="Reload settings").click()
    await expect(page.locator("#f-turns")).to_have_value("15")
    await expect(page.locator("#save-status")).to_have_text("Saved · draft version 2.")


async def test_supervisor_workspace_end_to_end(kafka: str, database: str, unique: str) -> None:
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    queue_settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        stream_heartbeat_seconds=2.0,
        outbox_poll_seconds=0.5,
    )
    problems = PageProblems()
    async with (
        running(
            create_detector(DetectorSettings(kafka_bootstrap_servers=kafka, database_url=database)),
            create_router(RouterSettings(kafka_bootstrap_servers=kafka, database_url=database)),
        ),
        UiServer(lambda: create_queue_api(queue_settings)) as server,
        producer(kafka) as kafka_producer,
        chromium() as browser,
    ):
        context = await browser.new_context(viewport=WIDE)
        await context.add_init_script(COUNT_BEEPS)
        page = problems.watch(await context.new_page())
        await sign_in_locally(page, server.url, "alice", tenant, "admin", shot="signin-local")

        # --- configure escalation: enable, a condition, a supervisor, save, publish -----------
        await _configure_and_publish(page, server.url, agent)
        await _stale_draft_is_refused(page, server.url, agent)

        # --- the Published Queue, live ------------------------------------------------------
        await page.get_by_role("link", name="Open Published Queue").first.click()
        await expect(page).to_have_url(re.compile(r"/queue\?environment=published"))
        await expect(page.locator("#connection")).to_contain_text("Connected")
        await expect(page.locator("#list-count")).to_have_text("No escalations")
        sound = page.get_by_role("switch", name="Sound alerts")
        await sound.check()  # remembered for the next visit
        assert await page.evaluate("localStorage.getItem('escalator.sound')") == "true"
        beeps = await page.evaluate("window.__beeps")

        await _angry_customer(kafka_producer, tenant, agent, "Dana Reyes")
        row = page.locator(".escalation-row", has_text="Dana Reyes")
        await expect(row).to_be_visible()  # pushed over the WebSocket: no reload
        await expect(page.locator("#announcer")).to_contain_text("New")
        await expect(row.locator(".chip.status-pending")).to_have_text("Pending")
        assert await page.evaluate("window.__beeps") > beeps  # the new escalation beeped

        await row.click()
        detail = page.locator("#detail")
        await expect(page.locator("#detail-title")).to_have_text("Dana Reyes")
        await expect(page.locator("#reason-body")).to_contain_text("Reason")
        await expect(page.locator("#reason-body")).to_contain_text("%")  # the trigger's score
        await expect(page.locator("#customer-body")).to_contain_text("dana@example.com")
        await expect(page.locator("#messages")).to_contain_text("I want a refund NOW")
        await expect(page.locator("#timeline")).to_contain_text("Escalation detected")
        await expect(page.locator("#timeline")).to_contain_text("Routed to supervisors")

        await detail.get_by_role("button", name="Claim").click()
        await expect(page.locator("#detail-chips .chip.status-in_progress")).to_be_visible()
        await expect(page.locator("#detail-ownership")).to_contain_text("Claimed by you")
        await expect(row.locator(".chip.status-in_progress")).to_have_text("In progress")
        await screenshot(page, "queue-wide-claimed")

        await detail.get_by_role("button", name="Generate summary").click()
        await expect(page.locator("#sec-summary")).to_be_visible()
        await expect(page.locator("#summary-body")).to_contain_text("refund")
        await expect(page.locator("#timeline")).to_contain_text("AI summary generated")

        await detail.get_by_role("button", name="Complete…").click()
        await detail.get_by_role("button", name="Complete escalation").click()
        await expect(page.locator("#resolution-note")).to_have_attribute("aria-invalid", "true")
        await page.get_by_label("Resolution note (required)").fill(
            "Refund of order issued; apologised for the broken item. No follow-up needed."
        )
        await detail.get_by_role("button", name="Complete escalation").click()
        await expect(page.locator("#detail-chips .chip.status-completed")).to_be_visible()
        await expect(page.locator("#timeline")).to_contain_text("Refund of order issued")

        await page.get_by_label("Status").select_option("completed")
        await expect(page).to_have_url(re.compile(r"status=completed"))
        await expect(row.locator(".chip.status-completed")).to_have_text("Completed")
        await page.get_by_label("Status").select_option("pending")
        await expect(page.locator("#list-count")).to_have_text("No escalations")
        await page.get_by_label("Status").select_option("")
        await row.click()
        await screenshot(page, "queue-wide")
        assert await contrast_failures(page) == []

        # --- narrow screen: the details open in a drawer -------------------------------------
        await page.set_viewport_size(NARROW)
        await page.reload()
        await expect(page.locator("#connection")).to_contain_text("Connected")
        drawer = page.get_by_role("dialog")
        await expect(drawer).to_be_visible()  # ?escalation= opened it
        await expect(drawer.locator("#detail-title")).to_have_text("Dana Reyes")
        await screenshot(page, "queue-narrow-drawer")
        assert await contrast_failures(page) == []
        await page.keyboard.press("Escape")
        await expect(drawer).to_be_hidden()
        await expect(page.locator("#escalation-list")).to_be_focused()
        await screenshot(page, "queue-narrow")
        await page.keyboard.press("Enter")  # keyboard: Enter opens the active row
        await expect(page.get_by_role("dialog")).to_be_visible()
        await page.get_by_role("button", name="← Back to queue").click()
        await expect(page.get_by_role("dialog")).to_be_hidden()

        await page.goto(f"{server.url}/settings?agent={agent}")
        await expect(page.locator("#save-status")).to_contain_text("Saved")
        await screenshot(page, "settings-narrow")
        await screenshot(page, "settings-narrow-full", full_page=True)

        # --- the API restarts: Reconnecting, then Connected, and nothing is missed -----------
        await page.set_viewport_size(WIDE)
        await page.goto(f"{server.url}/queue?environment=published")
        await expect(page.locator("#connection")).to_contain_text("Connected")
        await server.stop()
        await expect(page.locator("#connection")).to_have_text(
            re.compile("Reconnecting|Disconnected")
        )
        await screenshot(page, "queue-reconnecting")
        await _angry_customer(kafka_producer, tenant, agent, "Sam Quinn")
        await server.start()
        await expect(page.locator("#connection")).to_contain_text("Connected")
        await expect(page.locator(".escalation-row", has_text="Sam Quinn")).to_be_visible()
        await expect(page.locator(".escalation-row", has_text="Dana Reyes")).to_be_visible()
        await expect(page.get_by_role("switch", name="Sound alerts")).to_be_checked()

        # --- release, and reassign to the AI ------------------------------------------------
        await page.locator(".escalation-row", has_text="Sam Quinn").click()
        await expect(page.locator("#detail-title")).to_have_text("Sam Quinn")
        await detail.get_by_role("button", name="Claim").click()
        await expect(page.locator("#detail-ownership")).to_contain_text("Claimed by you")
        await detail.get_by_role("button", name="Release").click()
        await expect(page.locator("#detail-chips .chip.status-pending")).to_be_visible()
        await expect(page.locator("#timeline")).to_contain_text("Released")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await detail.get_by_role("button", name="Reassign to AI").click()
        await expect(page.locator("#detail-ownership")).to_contain_text("Handed back to the AI")
        await expect(page.locator("#timeline")).to_contain_text("Reassigned to AI")
        await context.close()

    assert problems.errors == []
