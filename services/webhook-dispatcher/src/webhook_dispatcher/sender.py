"""Sends due deliveries: leases them from PostgreSQL, signs and POSTs each, records the attempt.

Concurrency is bounded twice, so that one slow receiver cannot starve the others: at most
``max_in_flight`` requests at once, and at most ``max_in_flight_per_host`` to one ``host:port``
(per dispatcher instance). Only what can be sent at once is leased; a crash leaves leases that
expire, after which any instance sends those deliveries again, with the same ``webhook-id``.
"""

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from prometheus_client import Counter as Metric
from prometheus_client import Gauge, Histogram

from escalator_runtime import config_store, tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Connection, Pool, connect
from escalator_runtime.metrics import DELIVERIES
from escalator_runtime.periodic import cancel_and_wait
from escalator_schemas.chat import Environment
from escalator_schemas.config import AgentConfigVersion, WebhookSubscription
from webhook_dispatcher import repository
from webhook_dispatcher.repository import AttemptRecord, ClaimedDelivery
from webhook_dispatcher.service import AttemptResult, Policy, decide, describe, kept_headers
from webhook_dispatcher.settings import WebhookDispatcherSettings
from webhook_dispatcher.signing import signed_headers
from webhook_dispatcher.transport import TargetRefused

log = structlog.get_logger(__name__)

# What became of the delivery after an attempt, in escalator_deliveries' words.
_DELIVERY_OUTCOME = {"succeeded": "delivered", "pending": "retry", "failed": "failed"}

ATTEMPTS = Metric("escalator_webhook_attempts", "Webhook requests made", ["outcome"])
ATTEMPT_SECONDS = Histogram("escalator_webhook_attempt_seconds", "Duration of webhook requests")
IN_FLIGHT = Gauge("escalator_webhook_in_flight", "Webhook requests under way")
ENDPOINTS_DISABLED = Metric(
    "escalator_webhook_endpoints_disabled", "Endpoints switched off", ["reason"]
)


async def send(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    within: float,
    max_body: int,
) -> AttemptResult:
    """One POST within ``within`` seconds in all; never raises for the receiver's faults."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + within

    def elapsed_ms() -> int:
        return int((loop.time() - started) * 1000)

    try:
        async with asyncio.timeout_at(deadline):
            request = client.build_request("POST", url, content=body, headers=headers)
            response = await client.send(request, stream=True)
    except TargetRefused as refused:
        return AttemptResult(None, elapsed_ms(), f"refused: {refused.reason}", refused=True)
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult(None, elapsed_ms(), f"timed out after {within:g} s")
    except httpx.HTTPError as error:
        return AttemptResult(None, elapsed_ms(), f"{type(error).__name__}: {error}"[:1000])
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    try:
        # The status line is the answer; the body is kept as far as it came in time.
        text = await _read_some(response, max_body, deadline)
    finally:
        await response.aclose()
    return AttemptResult(
        response.status_code,
        elapsed_ms(),
        response_body=text,
        response_headers=kept_headers(response.headers),
        remote_address=str(peer[0]) if peer else None,
    )


async def _read_some(response: httpx.Response, limit: int, deadline: float) -> str:
    chunks: list[bytes] = []
    size = 0
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_bytes():
                chunks.append(chunk[: limit - size])
                size += len(chunks[-1])
                if size >= limit:
                    break
    return b"".join(chunks).decode("utf-8", "replace").replace("\x00", "\ufffd")


async def _subscription(
    pool: Pool, configs: ConfigView, delivery: ClaimedDelivery
) -> WebhookSubscription | str:
    """The subscription as configured now (its URL and secret may have changed since the
    delivery was queued), or why the delivery is not to be sent. What the view lacks is read
    from PostgreSQL: another instance may have queued it from a configuration this one's view
    has not caught up with yet."""
    environment = Environment(delivery.environment)

    def find(config: AgentConfigVersion | None) -> WebhookSubscription | None:
        hooks = config.config.webhooks if config else []
        return next((hook for hook in hooks if hook.id == delivery.webhook_id), None)

    hook = find(configs.get(delivery.tenant_id, delivery.agent_id, environment))
    if hook is None or not hook.enabled:
        stage = config_store.stage_for(environment)
        hook = find(await config_store.load(pool, delivery.tenant_id, delivery.agent_id, stage))
    if hook is None:
        return "the subscription is no longer configured"
    if not hook.enabled:
        return "the subscription is disabled in the configuration"
    return hook


class WebhookSender:
    def __init__(
        self,
        settings: WebhookDispatcherSettings,
        pool: Pool,
        configs: ConfigView,
        client: httpx.AsyncClient,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._configs = configs
        self._client = client
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._policy = Policy(
            settings.retry_schedule_seconds,
            settings.retry_jitter,
            timedelta(seconds=settings.disable_after_seconds),
            settings.max_retry_after_seconds,
        )
        self._busy: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._listener: Connection | None = None

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="webhook-sender")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop leasing; let requests under way finish for ``grace`` seconds, then cancel them
        (their leases expire and they are sent again)."""
        await cancel_and_wait(self._loop_task)
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._close_listener()

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def _listen(self) -> None:
        if self._listener is None or self._listener.is_closed():
            await self._close_listener()
            self._listener = await connect(self._settings.database_url)
            await self._listener.add_listener(repository.CHANNEL, self._on_notify)

    async def _run(self) -> None:
        last_cleanup = 0.0
        while True:
            try:
                await self._listen()
                free = self._settings.max_in_flight - len(self._tasks)
                claimed = await self._claim(free) if free > 0 else []
                if claimed and len(claimed) == free:
                    continue
                if time.monotonic() - last_cleanup > 3600:
                    await repository.forget_expired_secrets(self._pool)
                    last_cleanup = time.monotonic()
                await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook sender loop failed; retrying")
                await self._close_listener()
                await asyncio.sleep(1.0)

    async def _claim(self, free: int) -> list[ClaimedDelivery]:
        claimed = await repository.claim(
            self._pool,
            self.owner,
            self._settings.lease,
            {host: count for host, count in self._busy.items() if count},
            self._settings.max_in_flight_per_host,
            free,
        )
        for delivery in claimed:
            self._busy[delivery.target_host] += 1
            task = asyncio.create_task(self._deliver(delivery), name=f"webhook-{delivery.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        IN_FLIGHT.set(len(self._tasks))
        return claimed

    async def _idle(self) -> None:
        """Until something may be due: a notification, a freed slot, or the next due time
        (looked up only while nothing is under way: a finishing request wakes the loop)."""
        wait = self._settings.poll_interval_seconds
        due = None if self._tasks else await repository.next_due(self._pool)
        if due is not None:
            until = (due - datetime.now(UTC)).total_seconds()
            if until > 0:
                wait = min(wait, until + 0.005)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._wake.wait()
        self._wake.clear()

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        bound = log.bind(
            delivery_id=str(delivery.id),
            webhook_id=delivery.webhook_id,
            escalation_id=str(delivery.escalation_id),
            conversation_id=delivery.conversation_id,
            event_type=delivery.event_type,
        )
        attributes = {
            "escalator.escalation_id": str(delivery.escalation_id),
            "escalator.webhook.id": delivery.webhook_id,
            "escalator.webhook.event_type": delivery.event_type,
        }
        try:
            with tracing.delivery(
                "webhook-dispatcher",
                "deliver webhook",
                delivery.traceparent,
                delivery.tracestate,
                attributes,
            ):
                await self._attempt(delivery, bound)
        except Exception:
            # The lease runs out and the delivery is tried again: nothing is lost.
            bound.exception("webhook delivery crashed")
        finally:
            self._busy[delivery.target_host] -= 1
            IN_FLIGHT.set(len(self._tasks) - 1)
            self._wake.set()

    async def _attempt(self, delivery: ClaimedDelivery, bound: structlog.BoundLogger) -> None:
        hook = await _subscription(self._pool, self._configs, delivery)
        if isinstance(hook, str):
            await repository.fail_unsent(self._pool, self.owner, delivery, hook)
            bound.info("webhook delivery dropped", reason=hook)
            return
        context = await repository.endpoint_context(
            self._pool, delivery.tenant_id, delivery.agent_id, delivery.webhook_id, hook.url
        )
        if context.disabled_reason and not delivery.manual_attempt:
            reason = f"endpoint disabled: {context.disabled_reason}"
            await repository.fail_unsent(self._pool, self.owner, delivery, reason)
            bound.info("webhook delivery dropped", reason=reason)
            return
        started_at = datetime.now(UTC)
        timestamp = int(time.time())
        body = delivery.payload.encode()
        # No secret of its own: the previous ones alone are not what the receiver expects.
        keys = [hook.secret, *context.previous_secrets] if hook.secret else []
        try:
            headers = signed_headers(keys, str(delivery.event_id), timestamp, body)
        except ValueError as error:
            # Never sent unsigned; a malformed secret is the configuration's fault, not retried.
            result = AttemptResult(None, 0, f"refused: cannot sign: {error}", refused=True)
        else:
            headers["content-type"] = "application/json"
            result = await send(
                self._client,
                hook.url,
                body,
                headers,
                self._settings.request_timeout_seconds,
                self._settings.max_response_body_bytes,
            )
        decision = decide(
            result,
            delivery.automatic_attempts + (0 if delivery.manual_attempt else 1),
            datetime.now(UTC),
            context.failing_since,
            self._policy,
            final=delivery.final_attempt,
        )
        record = AttemptRecord(hook.url, timestamp, started_at, result)
        recorded = await repository.record_attempt(
            self._pool, self.owner, delivery, record, decision
        )
        outcome = "succeeded" if result.succeeded else "refused" if result.refused else "failed"
        ATTEMPTS.labels(outcome).inc()
        DELIVERIES.labels("webhook-dispatcher", "webhook", _DELIVERY_OUTCOME[decision.status]).inc()
        ATTEMPT_SECONDS.observe(result.duration_ms / 1000)
        bound.info(
            "webhook attempt",
            outcome=outcome,
            status_code=result.status_code,
            error=describe(result),
            duration_ms=result.duration_ms,
            delivery_status=decision.status,
            next_attempt_at=decision.next_attempt_at.isoformat()
            if decision.next_attempt_at
            else None,
            lease_lost=not recorded.lease_kept,
        )
        if recorded.endpoint_disabled:
            ENDPOINTS_DISABLED.labels("gone" if result.status_code == 410 else "failing").inc()
            bound.warning(
                "webhook endpoint disabled; tenant notified",
                tenant_id=delivery.tenant_id,
                agent_id=delivery.agent_id,
                url=hook.url,
                reason=decision.disable_endpoint,
            )
