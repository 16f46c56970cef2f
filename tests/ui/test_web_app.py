"""The workspace as queue-api serves it, without a browser: pages and assets, their security
headers, nothing loaded from another origin, and the sign-in endpoints."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from queue_api.auth import Role, TokenVerifier
from queue_api.main import create_app
from queue_api.preview_api import PreviewMessage
from queue_api.settings import QueueApiSettings
from queue_api.web_app import PAGES, WEB, content_security_policy


def _production(**overrides: Any) -> QueueApiSettings:
    return QueueApiSettings(
        environment="production", jwt_secret=SecretStr("s3cret-for-tests-" * 3), **overrides
    )


@pytest.fixture
async def local() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(QueueApiSettings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://queue-api"
    ) as client:
        yield client


def _client(settings: QueueApiSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://queue-api"
    )


@pytest.mark.parametrize("path", list(PAGES))
async def test_every_page_is_served_with_a_strict_policy(
    local: httpx.AsyncClient, path: str
) -> None:
    response = await local.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    # Every script, style and icon the page names is served from /ui/ on this origin.
    for asset in re.findall(r'(?:src|href)="(/ui/[^"]+)"', response.text):
        assert (await local.get(asset)).status_code == 200, asset


async def test_the_root_opens_the_queue(local: httpx.AsyncClient) -> None:
    response = await local.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/queue"


async def test_modules_import_only_modules_that_exist(local: httpx.AsyncClient) -> None:
    scripts = sorted((WEB / "assets" / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        response = await local.get(f"/ui/js/{script.name}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]
        assert response.headers["cache-control"] == "no-cache"
        for imported in re.findall(r'from "\./([^"]+)"', response.text):
            assert (script.parent / imported).is_file(), f"{script.name} imports {imported}"


def _web_files() -> list[Path]:
    return [path for path in WEB.rglob("*") if path.is_file()]


@pytest.mark.parametrize("path", _web_files(), ids=lambda path: path.name)
def test_nothing_comes_from_another_origin(path: Path) -> None:
    text = re.sub(r'xmlns="[^"]*"', "", path.read_text("utf-8"))  # a name, not a download
    # No CDN, no web fonts, no analytics: no absolute URL to any host at all (a bare scheme
    # such as a placeholder "https://" is fine), and no inline script or style attributes.
    assert not re.findall(r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", text), path
    assert "@import" not in text
    if path.suffix == ".html":
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline script"
        assert not re.search(r"\sstyle=", text), "inline style attribute (blocked by the CSP)"
        assert not re.search(r"\son[a-z]+=", text), "inline event handler"


async def test_sign_in_is_the_local_form_in_local_development(local: httpx.AsyncClient) -> None:
    assert (await local.get("/api/v1/auth/config")).json() == {
        "mode": "local",
        "environment": "local",
        "oidc": None,
    }
    response = await local.post(
        "/api/v1/auth/dev-token", json={"sub": "alice", "tenant_id": "acme", "role": "admin"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 12 * 3600
    principal = await TokenVerifier(QueueApiSettings()).verify(body["access_token"])
    assert (principal.sub, principal.tenant_id, principal.role) == ("alice", "acme", Role.ADMIN)


async def test_the_dev_token_refuses_bad_input_field_by_field(local: httpx.AsyncClient) -> None:
    response = await local.post(
        "/api/v1/auth/dev-token", json={"sub": "", "tenant_id": "a b", "role": "root"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {error["field"] for error in response.json()["errors"]} == {
        "sub",
        "tenant_id",
        "role",
    }


async def test_no_dev_token_outside_local_development() -> None:
    async with _client(_production()) as client:
        config = (await client.get("/api/v1/auth/config")).json()
        response = await client.post(
            "/api/v1/auth/dev-token", json={"sub": "alice", "tenant_id": "acme", "role": "admin"}
        )
    assert config["mode"] == "token"
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_oidc_provider_is_offered_with_its_origin_allowed() -> None:
    settings = _production(
        jwks_url="https://login.example.com/jwks",
        oidc_issuer_url="https://login.example.com/realms/acme/",
        oidc_client_id="escalator-web",
        oidc_audience="escalator-api",
    )
    async with _client(settings) as client:
        config = (await client.get("/api/v1/auth/config")).json()
        page = await client.get("/signin")
        dev = await client.post(
            "/api/v1/auth/dev-token", json={"sub": "alice", "tenant_id": "acme"}
        )
    assert config == {
        "mode": "oidc",
        "environment": "production",
        "oidc": {
            "issuer": "https://login.example.com/realms/acme",
            "client_id": "escalator-web",
            "scope": "openid profile email",
            "audience": "escalator-api",
            "token": "access_token",
            "redirect_path": "/signin",
        },
    }
    assert (
        "connect-src 'self' https://login.example.com;" in page.headers["content-security-policy"]
    )
    assert dev.status_code == 404


def test_oidc_needs_both_issuer_and_client_id() -> None:
    with pytest.raises(ValidationError, match="together"):
        QueueApiSettings(oidc_issuer_url="https://login.example.com")


def test_extra_origins_join_the_policy() -> None:
    policy = content_security_policy(
        QueueApiSettings(
            oidc_issuer_url="https://accounts.example.com",
            oidc_client_id="web",
            oidc_connect_origins=("https://oauth2.example.net/token", "not a url"),
        )
    )
    assert "connect-src 'self' https://accounts.example.com https://oauth2.example.net;" in policy


def test_a_preview_message_carries_a_confidence_only_as_the_ai() -> None:
    assert PreviewMessage(agent_id="a", role="ai", text="Hi", ai_confidence=0.3).ai_confidence
    with pytest.raises(ValidationError, match="ai messages only"):
        PreviewMessage(agent_id="a", role="customer", text="Hi", ai_confidence=0.3)
    with pytest.raises(ValidationError):
        PreviewMessage(agent_id="a", role="human", text="Hi")
