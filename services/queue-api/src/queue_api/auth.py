"""Bearer JWTs: ``sub`` (supervisor id), ``tenant_id`` and ``role``. Algorithms are pinned and
``exp`` is required; the key is a shared secret or an OIDC provider's JWKS."""

import asyncio
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError

from queue_api.settings import QueueApiSettings


class Role(StrEnum):
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Principal(BaseModel):
    """Who is calling: every read and write is scoped to ``tenant_id``."""

    sub: str = Field(min_length=1, max_length=64)
    tenant_id: str = Field(min_length=1, max_length=64)
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class TokenVerifier:
    def __init__(self, settings: QueueApiSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None

    async def verify(self, token: str) -> Principal:
        try:
            key: Any = self._settings.jwt_secret.get_secret_value()
            if self._jwks is not None:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                key = signing_key.key
            claims = jwt.decode(
                token,
                key,
                algorithms=self._settings.jwt_algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": bool(self._settings.jwt_audience),
                },
            )
            return Principal.model_validate(claims)
        except (jwt.PyJWTError, ValidationError) as error:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail=f"invalid bearer token: {_short(error)}",
                headers={"WWW-Authenticate": "Bearer"},
            ) from error


def _short(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "missing or invalid claims " + ", ".join(
            ".".join(str(p) for p in e["loc"]) for e in error.errors()
        )
    return str(error)


def mint_token(
    settings: QueueApiSettings, sub: str, tenant_id: str, role: Role, ttl: timedelta
) -> str:
    """A token signed with the shared secret, for local use and tests."""
    now = datetime.now(UTC)
    claims = {"sub": sub, "tenant_id": tenant_id, "role": role.value, "iat": now, "exp": now + ttl}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
