"""The real browser for UI tests: Debian's Chromium driven by Python playwright (never
``playwright install``), queue-api on a real uvicorn server that a test can stop and start again
on the same port, signing in through the page, and screenshots into tests/artifacts."""

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.stack import ARTIFACTS, eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDE: ViewportSize = {"width": 1440, "height": 900}
NARROW: ViewportSize = {"width": 390, "height": 844}

# What a page may log while a test provokes errors on purpose (a 422, a 412, a stopped server).
_EXPECTED_CONSOLE = re.compile(
    r"Failed to load resource|WebSocket connection to .* failed|net::ERR_CONNECTION_REFUSED"
)


@cache
def chromium_path() -> str:
    """Debian's Chromium, installed by deploy/local/chromium.sh when missing."""
    path = os.environ.get("ESCALATOR_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        result = subprocess.run(
            ["bash", str(ROOT / "deploy" / "local" / "chromium.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"deploy/local/chromium.sh failed:\n{result.stderr[-4000:]}")
    return path


class PageProblems:
    """JavaScript errors and unexpected console errors of the pages a test opened."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not _EXPECTED_CONSOLE.search(message.text):
            self.errors.append(f"console: {message.text}")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


class UiServer:
    """queue-api on a real uvicorn server, on one port across restarts (a restart builds a new
    app, with its lifespan: what a deploy does)."""

    def __init__(self, make_app: Callable[[], FastAPI], port: int | None = None) -> None:
        self.make_app = make_app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.app = self.make_app()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())

        async def started() -> bool:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn exited while starting")
            return server.started

        await eventually(started, within=60.0, interval=0.05)
        self._server, self._task = server, task

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 30.0)
        self._server = self._task = None

    async def __aenter__(self) -> "UiServer":
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


async def sign_in_locally(
    page: Page, base: str, sub: str, tenant: str, role: str, *, shot: str | None = None
) -> None:
    """The local development sign-in form, as a person fills it in (``shot``: a screenshot of
    the filled-in form under that name)."""
    await page.goto(f"{base}/queue")
    await expect(page).to_have_url(re.compile(r"/signin\?next="))
    await page.get_by_label("Supervisor ID").fill(sub)
    await page.get_by_label("Tenant").fill(tenant)
    await page.get_by_role(
        "radio", name="Admin (can change settings)" if role == "admin" else "Supervisor"
    ).check()
    if shot:
        await screenshot(page, shot)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/queue"))
    await expect(page.locator(".user-menu .who")).to_contain_text(sub)


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """A PNG in tests/artifacts/screenshots. ``full_page``: the viewport is made as tall as the
    page for the shot, so sticky bars sit where a reader expects them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    viewport = page.viewport_size
    if full_page and viewport is not None:
        height = await page.evaluate("document.documentElement.scrollHeight")
        await page.set_viewport_size({"width": viewport["width"], "height": int(height)})
    try:
        await page.screenshot(path=str(path), animations="disabled")
    finally:
        if full_page and viewport is not None:
            await page.set_viewport_size(viewport)
    return path


_CONTRAST = (Path(__file__).parent / "contrast.js").read_text("utf-8")


async def contrast_failures(page: Page) -> list[str]:
    """Texts on the page below WCAG AA contrast (4.5:1, or 3:1 for large text)."""
    failures: list[str] = await page.evaluate(_CONTRAST)
    return failures


# Counts the oscillators the page starts: the WebAudio beep, observed without a sound card.
COUNT_BEEPS = """
window.__beeps = 0;
const Original = window.AudioContext;
if (Original) {
  window.AudioContext = class extends Original {
    createOscillator() {
      const oscillator = super.createOscillator();
      const start = oscillator.start.bind(oscillator);
      oscillator.start = (...args) => { window.__beeps += 1; return start(...args); };
      return oscillator;
    }
  };
}
"""
