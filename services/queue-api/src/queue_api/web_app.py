"""The supervisors' workspace in the browser: the queue, the escalation settings, the preview
chat and sign-in, served by queue-api itself (no CDN, no build step).

- Pages are static HTML documents under ``queue_api/web``; ES modules under ``/ui/`` do the rest
  against the public API (``/api/v1``) and its WebSocket.
- A strict Content-Security-Policy: scripts, styles and connections to this origin only (plus
  the OIDC provider's, when one is configured); no inline script, no framing.
- Sign-in: ``GET /api/v1/auth/config`` tells the page how. With an OIDC provider it runs the
  authorization code + PKCE flow in the browser; in local development a form gets a token from
  ``POST /api/v1/auth/dev-token``, which answers 404 anywhere else.
"""

import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from queue_api.auth import Role, mint_token
from queue_api.errors import problem_responses
from queue_api.problems import Problem
from queue_api.settings import QueueApiSettings

WEB = Path(str(resources.files("queue_api") / "web"))

PAGES = {
    "/queue": "queue.html",
    "/settings": "settings.html",
    "/preview": "preview.html",
    "/tuning": "tuning.html",  # issue 9: the tuning report
    "/signin": "signin.html",
}

# The browser revalidates with the ETag on each load: a redeploy is picked up at once.
_REVALIDATE = "no-cache"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: QueueApiSettings) -> str:
    urls = (settings.oidc_issuer_url, *settings.oidc_connect_origins)
    origins = [origin for url in urls if url and (origin := _origin(url))]
    connect = " ".join(["'self'", *dict.fromkeys(origins)])
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _document_headers(settings: QueueApiSettings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "Cache-Control": _REVALIDATE,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # The sign-in page receives the OIDC code in its URL: never send it on.
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


class WebAssets(StaticFiles):
    """``/ui/*``: the pages' scripts, styles and icons, revalidated on every load."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = _REVALIDATE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


# --- sign-in ---------------------------------------------------------------------------------


class OidcClient(BaseModel):
    """What the browser needs for the authorization code + PKCE flow."""

    issuer: str = Field(description="Discovery: <issuer>/.well-known/openid-configuration.")
    client_id: str
    scope: str
    audience: str | None
    token: Literal["access_token", "id_token"] = Field(
        description="Which token of the token endpoint's answer to send as the bearer."
    )
    redirect_path: str = Field(description="Register <origin><redirect_path> with the provider.")


class SignInConfig(BaseModel):
    """How to sign in to the workspace: ``oidc`` (the provider's login), ``local`` (a form,
    local development only) or ``token`` (paste a bearer token)."""

    mode: Literal["oidc", "local", "token"]
    environment: str
    oidc: OidcClient | None = None


class DevSignIn(BaseModel):
    """Who to be in local development."""

    model_config = ConfigDict(extra="forbid")

    sub: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\s]+$")
    tenant_id: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\s]+$")
    role: Role = Role.SUPERVISOR


class IssuedToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds.")


def sign_in_router(settings: QueueApiSettings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/auth", tags=["sign-in"])
    local = settings.environment == "local"

    @router.get("/config", response_model=SignInConfig)
    async def sign_in_config() -> SignInConfig:
        """How the workspace's sign-in page signs people in (no token needed)."""
        if settings.oidc_issuer_url and settings.oidc_client_id:
            return SignInConfig(
                mode="oidc",
                environment=settings.environment,
                oidc=OidcClient(
                    issuer=settings.oidc_issuer_url.rstrip("/"),
                    client_id=settings.oidc_client_id,
                    scope=settings.oidc_scope,
                    audience=settings.oidc_audience,
                    token=settings.oidc_token,
                    redirect_path="/signin",
                ),
            )
        return SignInConfig(mode="local" if local else "token", environment=settings.environment)

    @router.post(
        "/dev-token",
        response_model=IssuedToken,
        responses=problem_responses(404, 422),
    )
    async def dev_token(body: DevSignIn) -> IssuedToken:
        """Local development only (``QUEUE_API_ENVIRONMENT=local``): a token for anyone, in any
        tenant and role, signed with the shared secret. Anywhere else: 404."""
        if not local or settings.jwks_url:
            raise Problem(404, "not found")
        ttl = timedelta(hours=settings.dev_token_hours)
        return IssuedToken(
            access_token=mint_token(settings, body.sub, body.tenant_id, body.role, ttl),
            expires_in=int(ttl.total_seconds()),
        )

    return router


# --- pages -----------------------------------------------------------------------------------


def pages_router(settings: QueueApiSettings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    headers = _document_headers(settings)

    def serve(filename: str) -> Callable[[], Awaitable[FileResponse]]:
        async def page() -> FileResponse:
            return FileResponse(WEB / filename, media_type="text/html", headers=headers)

        return page

    for path, filename in PAGES.items():
        router.add_api_route(path, serve(filename), methods=["GET"], name=filename)

    @router.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=307)

    @router.get("/favicon.ico")
    async def favicon() -> RedirectResponse:
        return RedirectResponse("/ui/favicon.svg", status_code=308)

    return router


def install(app: FastAPI, settings: QueueApiSettings) -> None:
    """Serve the workspace from ``app``: its pages, ``/ui`` assets and the sign-in API."""
    missing = [name for name in PAGES.values() if not (WEB / name).is_file()]
    if missing:
        raise RuntimeError(f"the workspace's pages {missing} are missing from {WEB}")
    app.include_router(sign_in_router(settings))
    app.include_router(pages_router(settings))
    app.mount("/ui", WebAssets(directory=WEB / "assets", check_dir=True), name="ui")
