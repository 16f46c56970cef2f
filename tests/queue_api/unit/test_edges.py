"""The request body limit, the OpenAPI document's error responses, and tokens kept out of
logs: all without infrastructure."""

import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from queue_api import errors, problems
from queue_api.main import create_app
from queue_api.stream import redact_tokens_in_logs


def _echo_app(limit: int) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(errors.BodySizeLimit, max_bytes=limit)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def test_bodies_over_the_limit_get_413_whether_declared_or_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 1024

    transport = httpx.ASGITransport(app=_echo_app(4096))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        small = await client.post("/echo", content=b"x" * 4096)
        declared = await client.post("/echo", content=b"x" * 4097)
        streamed = await client.post("/echo", content=chunks())
    assert small.json() == {"bytes": 4096}
    for refused in (declared, streamed):
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == "the request body exceeds 4096 bytes"
    assert "content-length" not in streamed.request.headers


def test_every_error_response_is_documented_as_problem_json() -> None:
    document = create_app().openapi()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
                    checked += 1
    assert checked > 30
    schemas = document["components"]["schemas"]
    assert {"ProblemDetails", "StreamPush", "EscalationDetail"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    claim = document["paths"]["/api/v1/escalations/{escalation_id}/claim"]["post"]
    assert {"401", "404", "409"} <= set(claim["responses"])


def test_access_tokens_never_reach_the_logs() -> None:
    redact_tokens_in_logs()
    logger = logging.getLogger("uvicorn.error")
    record = logger.makeRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/v1/stream?access_token=eyJhbGciOi.secret.sig&since=4"),
        None,
    )
    assert logger.filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "WebSocket /api/v1/stream?access_token=[redacted]&since=4" [accepted]'
    )
