"""How fast the sender empties the outbox into a local SMTP server running in its own process
(as a real relay would), and how long each accepted email waits for its record: the window in
which a crash means a resend.

Figures go to tests/artifacts/notifier-throughput.json; nothing here asserts on time."""

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from escalator_runtime.db import apply_migrations, create_pool
from notifier import repository
from notifier.emails import EmailKind
from notifier.main import create_app
from notifier.service import escalation_recipients, plan_emails
from tests.notifier.events import routed_event, supervisor
from tests.notifier.pipeline import notifier_settings
from tests.stack import ARTIFACTS, eventually, free_port, running

pytestmark = pytest.mark.integration

ESCALATIONS = 500
WINDOW = "escalator_notifier_accepted_to_recorded_seconds"


@pytest.fixture
async def sink_port() -> AsyncIterator[int]:
    """aiosmtpd's Sink handler (accepts and drops everything) in a process of its own."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def listening() -> bool:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    try:
        await eventually(listening, within=30, interval=0.05)
        yield port
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


@pytest.mark.parametrize("connections", [1, 2, 4])
async def test_sender_throughput_to_a_local_smtp_server(
    kafka: str, database: str, unique: str, sink_port: int, connections: int
) -> None:
    settings = notifier_settings(kafka, database, sink_port, smtp_connections=connections)
    people = [supervisor(n, n.title(), f"{n}-{unique}@example.com") for n in ("alice", "bob")]
    events = [routed_event(f"t-{unique}", f"c-{unique}-{n}", people) for n in range(ESCALATIONS)]
    pool = await create_pool(database, 2)
    try:
        await apply_migrations(pool, "notifier", "notifier.migrations")
        async with pool.acquire() as connection:
            for event in events:
                await repository.enqueue(
                    connection,
                    plan_emails(
                        EmailKind.ESCALATION,
                        event,
                        escalation_recipients(event, None),
                        config=None,
                        public_url=settings.public_url,
                        sender=settings.sender,
                    ),
                )
        ids = [event.escalation_id for event in events]
        expected = len(ids) * len(people)
        window_sum = REGISTRY.get_sample_value(WINDOW + "_sum") or 0.0
        window_count = REGISTRY.get_sample_value(WINDOW + "_count") or 0.0

        async def all_sent() -> bool:
            sent = await pool.fetchval(
                "SELECT count(*) FROM notifier_emails"
                " WHERE escalation_id = ANY($1::uuid[]) AND status = 'sent'",
                ids,
            )
            return bool(sent == expected)

        async with running(create_app(settings)):
            await eventually(all_sent, within=120)
        span = await pool.fetchrow(
            "SELECT extract(epoch FROM max(sent_at) - min(sent_at))::float8 AS seconds,"
            " max(attempts) AS attempts FROM notifier_emails WHERE escalation_id = ANY($1::uuid[])",
            ids,
        )
    finally:
        await pool.close()

    assert span is not None
    assert span["attempts"] == 1
    windows = (REGISTRY.get_sample_value(WINDOW + "_count") or 0.0) - window_count
    assert windows >= expected
    mean_window = ((REGISTRY.get_sample_value(WINDOW + "_sum") or 0.0) - window_sum) / windows
    rate = (expected - 1) / span["seconds"]
    figures = {
        "smtp_connections": connections,
        "emails": expected,
        "emails_per_second": round(rate, 1),
        "mean_accepted_to_recorded_ms": round(mean_window * 1000, 3),
        # Little's law: emails accepted but not yet recorded at a random moment of sending,
        # i.e. how many a crash at that moment sends twice, on average.
        "expected_duplicates_per_crash_while_busy": round(mean_window * rate, 3),
    }
    path = ARTIFACTS / "notifier-throughput.json"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(previous | {str(connections): figures}, indent=2))
