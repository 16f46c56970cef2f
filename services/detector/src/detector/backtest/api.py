"""``POST /internal/v1/backtest``: queue-api's way to the detector's decision code.

Internal: not for browsers or integrators (queue-api checks who may backtest which agent).
With ``DETECTOR_BACKTEST_TOKEN`` set, callers must send it as a bearer token.

The work is CPU-bound (parsing, judging, deciding): it runs in a thread of its own, one
backtest at a time, so the event loop keeps consuming ``chat.messages`` and answering health
checks while it runs. Later requests wait their turn.
"""

import asyncio
import hmac
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from detector.backtest.judge import backtest_judge
from detector.backtest.run import run_backtest
from detector.settings import DetectorSettings
from escalator_schemas.backtest import BacktestRequest, BacktestResponse

MAX_BODY_BYTES = 128 * 1024 * 1024
PROBLEM_JSON = "application/problem+json"


class _Refused(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


def _problem(request: Request, error: _Refused) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
        "detail": error.detail,
        "instance": request.url.path,
    }
    if error.errors is not None:
        body["errors"] = error.errors
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(body, error.status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["body", *(str(part) for part in detail["loc"])],
            "field": ".".join(str(part) for part in detail["loc"]),
            "msg": detail["msg"],
            "type": detail["type"],
        }
        for detail in error.errors(include_url=False, include_input=False)[:100]
    ]


def _authorize(request: Request, settings: DetectorSettings) -> None:
    if settings.backtest_token is None:
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = settings.backtest_token.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise _Refused(401, "a backtest needs the detector's backtest token")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refused(413, f"a backtest request is at most {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Refused(413, f"a backtest request is at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def backtest_json(body: bytes, use_model: bool) -> bytes:
    """Parse, run and serialise one backtest (blocking: the whole CPU-bound part)."""
    try:
        asked = BacktestRequest.model_validate_json(body)
    except ValidationError as error:
        detail = "the backtest request is not valid; see errors"
        raise _Refused(422, detail, _field_errors(error)) from error
    answer = asyncio.run(run_backtest(asked, backtest_judge(use_model)))
    return answer.model_dump_json().encode()


def install(app: FastAPI, settings: DetectorSettings) -> None:
    router = APIRouter(prefix="/internal/v1", tags=["internal"])
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest")
    one_at_a_time = asyncio.Lock()

    @router.post(
        "/backtest",
        response_model=BacktestResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": BacktestRequest.model_json_schema()}},
            }
        },
    )
    async def backtest(request: Request) -> Response:
        """Replay the conversations under each configuration with the detector's own engine,
        and compare them with the baseline."""
        try:
            _authorize(request, settings)
            body = await _body(request)
            async with one_at_a_time:
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(
                    worker, backtest_json, body, settings.judge_use_model
                )
        except _Refused as error:
            return _problem(request, error)
        return Response(answer, media_type="application/json")

    app.include_router(router)
