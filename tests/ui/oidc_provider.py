"""A small, strict OpenID Connect provider for browser tests: discovery, the authorization
endpoint (which signs the user in at once), a token endpoint that insists on PKCE S256, a JWKS
of its RS256 key, and RP-initiated logout. CORS lets the workspace's origin call it."""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    redirect_uri: str
    allowed_origin: str
    claims: dict[str, Any]
    audience: str = "escalator-api"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    pending: dict[str, dict[str, str]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)

    def sign(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "iat": now, "exp": now + 600, **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "test-key"})

    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[self.allowed_origin],
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [public | {"kid": "test-key", "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            query = dict(request.query_params)
            self.authorize_requests.append(query)
            valid = (
                query.get("response_type") == "code"
                and query.get("client_id") == self.client_id
                and query.get("redirect_uri") == self.redirect_uri
                and query.get("code_challenge_method") == "S256"
                and len(query.get("code_challenge", "")) == 43
            )
            if not valid:
                error = urlencode({"error": "invalid_request", "state": query.get("state", "")})
                return RedirectResponse(f"{self.redirect_uri}?{error}", status_code=302)
            code = secrets.token_urlsafe(24)
            self.pending[code] = query
            answer = urlencode({"code": code, "state": query["state"]})
            return RedirectResponse(f"{self.redirect_uri}?{answer}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            self.token_requests.append(form)
            started = self.pending.pop(form.get("code", ""), None)
            if (
                started is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != self.client_id
                or form.get("redirect_uri") != started["redirect_uri"]
                or _s256(form.get("code_verifier", "")) != started["code_challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(
                {
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "access_token": self.sign({"aud": self.audience, **self.claims}),
                    "id_token": self.sign(
                        {
                            "aud": self.client_id,
                            "sub": self.claims["sub"],
                            "nonce": started["nonce"],
                        }
                    ),
                }
            )

        @app.get("/logout")
        async def logout(request: Request) -> RedirectResponse:
            query = dict(request.query_params)
            self.logouts.append(query)
            return RedirectResponse(query["post_logout_redirect_uri"], status_code=302)

        return app
