"""The realtime queue: ``GET /api/v1/stream`` as a WebSocket.

The process's hub (``queue_api.hub``) reads each tenant's new changes once, serialized once,
and offers them to the connections that may see them (the tenant's admins; the supervisors it
was routed or offered to, or who own it). A connection with ``?since=<seq>`` first replays what
it missed from the change feed, then continues live; changes are numbered per tenant, so a
number seen twice is dropped and none is skipped. Heartbeats carry the latest number, so a
client can show Connected / Reconnecting / Disconnected and reconnect from the right place.

Close codes: 4401 bad or expired token, 1008 bad ``since``, 1013 the client fell too far behind
(reconnect with ``since``), 1001 server shutting down.
"""

import asyncio
import contextlib
import json
import logging
import re
from datetime import UTC, datetime

import jwt
import structlog
from fastapi import APIRouter, HTTPException, WebSocket
from prometheus_client import Counter

from queue_api import changes
from queue_api.auth import Principal, TokenVerifier
from queue_api.hub import PAGE, StreamHub, Subscription
from queue_api.repository import Visibility

log = structlog.get_logger(__name__)

PUSHES = Counter("escalator_stream_pushes", "Escalation changes pushed to connections")

_ACCESS_TOKEN = re.compile(r"(access_token=)[^&\s\"']+")


class _RedactAccessTokens(logging.Filter):
    """uvicorn logs each accepted WebSocket with its query string: keep tokens out of logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _ACCESS_TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _ACCESS_TOKEN.sub(r"\1[redacted]", record.msg)
        return True


def redact_tokens_in_logs() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactAccessTokens) for f in logger.filters):
        logger.addFilter(_RedactAccessTokens())


router = APIRouter(prefix="/api/v1")


def _message(kind: str, seq: int) -> str:
    return json.dumps({"type": kind, "seq": seq})


async def _replay(
    websocket: WebSocket, hub: StreamHub, subscription: Subscription, since: int | None
) -> int:
    """Send what was missed after ``since``; returns the position reached."""
    viewer, start = subscription.viewer, subscription.start
    if since is None:
        await websocket.send_text(_message("ready", start))
        return start
    latest = await changes.head(hub.pool, viewer.tenant_id)
    oldest = await changes.oldest(hub.pool, viewer.tenant_id)
    kept_from = oldest - 1 if oldest is not None else latest
    replayable = kept_from <= since <= latest
    if not replayable:
        await websocket.send_text(_message("reset", start))
        return start
    position = since
    while True:
        batch = await changes.since(hub.pool, viewer.tenant_id, position, PAGE)
        for change in batch:
            if viewer.admin or viewer.supervisor_id in change.audience:
                await websocket.send_text(change.text)
                PUSHES.inc()
            position = change.seq
        if len(batch) < PAGE:
            break
    await websocket.send_text(_message("ready", position))
    return position


async def _send_changes(
    websocket: WebSocket,
    hub: StreamHub,
    subscription: Subscription,
    since: int | None,
    heartbeat_seconds: float,
) -> None:
    position = await _replay(websocket, hub, subscription, since)
    while not subscription.overflowed.is_set():
        try:
            async with asyncio.timeout(heartbeat_seconds):
                change = await subscription.queue.get()
        except TimeoutError:
            if subscription.overflowed.is_set():
                return
            # The queue is empty: every change up to the hub's head was sent or is not ours.
            position = max(position, subscription.feed.head or 0)
            await websocket.send_text(_message("heartbeat", position))
            continue
        if change.seq <= position:
            continue
        await websocket.send_text(change.text)
        PUSHES.inc()
        position = change.seq


async def _until_disconnected(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


def _seconds_left(token: str) -> float:
    claims = jwt.decode(token, options={"verify_signature": False})
    return max(float(claims["exp"]) - datetime.now(UTC).timestamp(), 0.0)


async def _authenticate(websocket: WebSocket, token: str | None) -> Principal | None:
    verifier: TokenVerifier = websocket.app.state.token_verifier
    if not token:
        await websocket.close(4401, "missing access_token")
        return None
    try:
        return await verifier.verify(token)
    except HTTPException as error:
        await websocket.close(4401, str(error.detail)[:120])
        return None


@router.websocket("/stream")
async def stream(
    websocket: WebSocket, access_token: str | None = None, since: str | None = None
) -> None:
    """Pushes every new and changed escalation the caller may see (see the module docstring)."""
    # Accept first: a close code before the handshake is only an HTTP 403 to a browser.
    await websocket.accept()
    principal = await _authenticate(websocket, access_token)
    if principal is None or access_token is None:
        return
    after: int | None = None
    if since is not None:
        if not (since.isascii() and since.isdigit()) or len(since) > 18:
            await websocket.close(1008, "since must be a non-negative integer")
            return
        after = int(since)
    hub: StreamHub = websocket.app.state.stream_hub
    heartbeat: float = websocket.app.state.stream_heartbeat_seconds
    viewer = Visibility(principal.tenant_id, principal.sub, principal.is_admin)
    subscription = await hub.subscribe(viewer)
    tasks = {
        asyncio.create_task(_send_changes(websocket, hub, subscription, after, heartbeat)),
        asyncio.create_task(_until_disconnected(websocket)),
        overflow := asyncio.create_task(subscription.overflowed.wait()),
        expiry := asyncio.create_task(asyncio.sleep(_seconds_left(access_token))),
    }
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.debug("stream connection ended", error=repr(error))
        with contextlib.suppress(Exception):
            if overflow in done:
                await websocket.close(1013, "too far behind; reconnect with since")
            elif expiry in done:
                await websocket.close(4401, "token expired")
            else:
                await websocket.close(1000)
    finally:
        hub.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
