"""Sends the outbox: claims due emails, sends each over SMTP, records every outcome.

Delivery is at least once. SMTP has no idempotency key, so the one way a supervisor can get
an email twice is a crash (or a lost database) after the server accepted it and before that
was recorded; the resend then carries the same ``Message-ID``. The accepted-to-recorded time
is measured (``escalator_notifier_accepted_to_recorded_seconds``) because it is that window.
"""

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from prometheus_client import Counter, Histogram

from escalator_runtime import tracing
from escalator_runtime.db import Pool
from escalator_runtime.metrics import DELIVERIES
from notifier import repository
from notifier.repository import OutboxEmail
from notifier.service import Failure, classify_failure, retry_delay
from notifier.settings import NotifierSettings
from notifier.smtp import ConnectFailed, SmtpRelay

log = structlog.get_logger(__name__)

EMAILS_SENT = Counter("escalator_notifier_emails_sent", "Emails the SMTP server accepted", ["kind"])
EMAILS_FAILED = Counter(
    "escalator_notifier_emails_failed",
    "Emails given up on: a permanent refusal, or too many transient failures",
    ["kind", "reason"],
)
EMAILS_RETRIED = Counter(
    "escalator_notifier_emails_retried", "Failed attempts scheduled for another try", ["kind"]
)
ACCEPTED_TO_RECORDED = Histogram(
    "escalator_notifier_accepted_to_recorded_seconds",
    "From the SMTP server's acceptance to its record in PostgreSQL (a crash in between resends)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0),
)


class EmailSender:
    """``smtp_connections`` workers, each with its own SMTP connection, sharing the outbox."""

    def __init__(self, pool: Pool, settings: NotifierSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        # The most one attempt (connect and send) may take before it counts as failed.
        self._attempt_seconds = 3 * settings.smtp_timeout_seconds

    def wake(self) -> None:
        """New emails were committed: look now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._work(), name=f"email-sender-{number}")
            for number in range(self._settings.smtp_connections)
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let each worker finish (and record) the email in hand, then end."""
        self._stopping.set()
        self._wake.set()
        if not self._workers:
            return
        _done, pending = await asyncio.wait(self._workers, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self) -> None:
        relay = SmtpRelay(self._settings)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    emails = await repository.claim_due(
                        self._pool, self._settings.send_batch, self._settings.lease_seconds
                    )
                    if emails:
                        await self._deliver_claimed(relay, emails)
                        continue
                except Exception:
                    # The database is away: what was claimed comes back when its lease ends.
                    log.exception("sending from the outbox failed; retrying")
                await self._idle()
        finally:
            await relay.close()

    async def _idle(self) -> None:
        wait = self._settings.poll_seconds
        with contextlib.suppress(Exception):
            due = await repository.seconds_until_due(self._pool)
            if due is not None:
                # Rows due now but locked by another worker: look again shortly, not at once.
                wait = min(wait, max(due, 0.05))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._wake.wait()

    async def _deliver_claimed(self, relay: SmtpRelay, emails: Sequence[OutboxEmail]) -> None:
        loop = asyncio.get_running_loop()
        # Stop early enough that no email is still being sent when its lease runs out.
        deadline = loop.time() + self._settings.lease_seconds - self._attempt_seconds - 1.0
        for index, email in enumerate(emails):
            if self._stopping.is_set() or loop.time() > deadline:
                await repository.release(self._pool, emails[index:])
                return
            unreachable = await self._deliver(relay, email)
            if unreachable is not None:
                # The server is down: the rest of the batch would fail the same way.
                for rest in emails[index + 1 :]:
                    await self._record_failure(rest, unreachable)
                return

    async def _deliver(self, relay: SmtpRelay, email: OutboxEmail) -> Failure | None:
        """One attempt; returns the failure when the server could not be reached at all."""
        attributes = {
            "escalator.escalation_id": str(email.escalation_id),
            "escalator.email.kind": email.kind,
            "escalator.email.attempt": email.attempts,
        }
        with (
            tracing.delivery(
                "notifier", "send email", email.traceparent, email.tracestate, attributes
            ),
            structlog.contextvars.bound_contextvars(conversation_id=email.conversation_id),
        ):
            return await self._attempt(relay, email)

    async def _attempt(self, relay: SmtpRelay, email: OutboxEmail) -> Failure | None:
        try:
            async with asyncio.timeout(self._attempt_seconds):
                response = await relay.send(
                    email.message, self._settings.sender_address, email.recipient_email
                )
        except ConnectFailed as error:
            failure = classify_failure(error.__cause__ or error, connecting=True)
            await self._record_failure(email, failure)
            return failure
        except Exception as error:
            await self._record_failure(email, classify_failure(error))
            return None
        accepted_at = asyncio.get_running_loop().time()
        # Shielded: a shutdown that cancels the worker must not cancel the record.
        await asyncio.shield(self._record_sent(email, response))
        ACCEPTED_TO_RECORDED.observe(asyncio.get_running_loop().time() - accepted_at)
        return None

    async def _record_sent(self, email: OutboxEmail, response: str) -> None:
        # The server has the email: keep trying to record that for most of the lease, as
        # a record that never lands means the email is sent again.
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._settings.lease_seconds / 2
        delay = 0.1
        while True:
            try:
                await repository.mark_sent(self._pool, email, response)
                break
            except Exception:
                if loop.time() > give_up_at:
                    log.exception(
                        "email sent but not recorded; it will be sent again",
                        escalation_id=str(email.escalation_id),
                        message_id=email.message_id,
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        EMAILS_SENT.labels(email.kind).inc()
        DELIVERIES.labels("notifier", "email", "delivered").inc()
        log.info(
            "email sent",
            escalation_id=str(email.escalation_id),
            supervisor_id=email.supervisor_id,
            kind=email.kind,
            attempt=email.attempts,
            message_id=email.message_id,
            smtp_response=response,
        )

    async def _record_failure(self, email: OutboxEmail, failure: Failure) -> None:
        context = {
            "escalation_id": str(email.escalation_id),
            "supervisor_id": email.supervisor_id,
            "kind": email.kind,
            "attempt": email.attempts,
            "error": failure.description,
        }
        try:
            if failure.transient and email.attempts < self._settings.max_attempts:
                delay = retry_delay(
                    email.attempts,
                    self._settings.retry_base_seconds,
                    self._settings.retry_max_seconds,
                )
                if await repository.mark_retry(self._pool, email, failure.description, delay):
                    EMAILS_RETRIED.labels(email.kind).inc()
                    DELIVERIES.labels("notifier", "email", "retry").inc()
                    log.warning("email attempt failed; will retry", retry_in=delay, **context)
                return
            reason = "permanent" if not failure.transient else "gave_up"
            await repository.mark_failed(self._pool, email, failure.description)
        except Exception:
            # The lease runs out and the email is tried again: nothing is lost.
            log.exception("recording a failed attempt failed", **context)
            return
        EMAILS_FAILED.labels(email.kind, reason).inc()
        DELIVERIES.labels("notifier", "email", "failed").inc()
        log.error("email failed", reason=reason, **context)
