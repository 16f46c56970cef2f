"""Errors at the edges: the request body limit (413), a problem+json answer for unexpected
failures (500), and the OpenAPI ``responses`` of error statuses."""

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from queue_api.models import ProblemDetails
from queue_api.problems import PROBLEM_JSON, problem_response

log = structlog.get_logger(__name__)

_DESCRIPTIONS = {
    401: "Missing, invalid or expired bearer token.",
    403: "Visible to the caller, but only its owner or an admin may do this.",
    404: "No such escalation for the caller (another tenant's escalations never exist here).",
    409: "The escalation's status does not allow this (e.g. already claimed by someone else).",
    413: "The request body is too large.",
    422: "The request is not valid; `errors` lists every invalid field.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, answered as ``application/problem+json``."""
    return {
        status: {"model": ProblemDetails, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


def install_server_error_handler(app: FastAPI) -> None:
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        log.error("request failed", path=request.url.path, exc_info=error)
        return problem_response(request, 500, "the server failed; the error was logged")

    app.add_exception_handler(Exception, server_error)


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413: by ``Content-Length`` before the
    app runs, or, for a streamed body, as soon as it grows past the limit (an HTTPException
    raised while the body is read, which FastAPI passes on to the problem handler)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"the request body exceeds {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Content Too Large",
                "status": 413,
                "detail": self._detail(),
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
