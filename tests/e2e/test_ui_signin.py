"""Issue 6, sign-in with a real identity provider: the browser runs the authorization code +
PKCE flow against an OIDC provider (discovery, authorize, token endpoint), the API verifies the
provider's RS256 tokens through its JWKS, REST and WebSocket alike; signing out ends the
provider's session too. The local sign-in form does not exist in this configuration."""

import re

import pytest
from playwright.async_api import expect

from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.stack import free_port
from tests.ui.browser import WIDE, PageProblems, UiServer, chromium, contrast_failures
from tests.ui.oidc_provider import OidcProvider

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

expect.set_options(timeout=30_000)


async def test_sign_in_through_an_oidc_provider_with_pkce(
    kafka: str, database: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    issuer, workspace_port = f"http://127.0.0.1:{free_port()}", free_port()
    workspace_url = f"http://127.0.0.1:{workspace_port}"
    provider = OidcProvider(
        issuer=issuer,
        client_id="escalator-web",
        redirect_uri=f"{workspace_url}/signin",
        allowed_origin=workspace_url,
        claims={"sub": "olivia", "tenant_id": tenant, "role": "supervisor"},
    )
    settings = QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        environment="production",
        jwks_url=f"{issuer}/jwks",
        jwt_algorithms=("RS256",),
        jwt_issuer=issuer,
        jwt_audience="escalator-api",
        oidc_issuer_url=issuer,
        oidc_client_id="escalator-web",
        oidc_audience="escalator-api",
        stream_heartbeat_seconds=2.0,
    )
    issuer_server = UiServer(provider.app, port=int(issuer.rsplit(":", 1)[1]))
    workspace = UiServer(lambda: create_queue_api(settings), port=workspace_port)
    problems = PageProblems()
    async with issuer_server, workspace, chromium() as browser:
        page = problems.watch(await browser.new_page(viewport=WIDE))
        await page.goto(f"{workspace.url}/queue?environment=preview")
        await expect(page).to_have_url(re.compile(r"/signin\?next="))
        await expect(page.locator("#local-form")).to_be_hidden()
        assert await contrast_failures(page) == []
        await page.get_by_role("button", name="Continue to sign-in").click()

        await expect(page).to_have_url(f"{workspace.url}/queue?environment=preview")
        await expect(page.locator(".user-menu .who")).to_have_text(
            f"olivia · {tenant} · supervisor"
        )
        await expect(page.locator("#connection")).to_contain_text("Connected")  # WebSocket
        await expect(page.locator("#list-count")).to_have_text("No escalations")  # REST
        stored = await page.evaluate("JSON.parse(sessionStorage.getItem('escalator.session'))")

        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(f"{workspace.url}/signin")
        assert await page.evaluate("sessionStorage.getItem('escalator.session')") is None
        await page.goto(f"{workspace.url}/queue")
        await expect(page).to_have_url(re.compile(r"/signin\?next="))

    [authorize] = provider.authorize_requests
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["audience"] == "escalator-api"
    assert authorize["scope"] == "openid profile email"
    [exchange] = provider.token_requests
    assert len(exchange["code_verifier"]) >= 43
    assert "code" not in page.url
    assert stored["method"] == "oidc"
    assert stored["token"].count(".") == 2
    [logout] = provider.logouts
    assert logout["id_token_hint"] == stored["idToken"]
    assert problems.errors == []
