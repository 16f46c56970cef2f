"""Issue 5, realtime: escalations arrive through Kafka (``escalations.routed``), are consumed by
queue-api running on a real uvicorn server, and reach WebSocket clients; a client that was
disconnected gets everything it missed; and how long the whole hop takes."""

import asyncio
import statistics
import sys
from typing import Any

import pytest
from websockets.asyncio.client import connect

from escalator_schemas import topics
from escalator_schemas.events import EscalationRouted
from queue_api.auth import Role
from queue_api.main import create_app
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import pushes, receive_json, receive_until, routed
from tests.stack import api_client, eventually, producer, serve, token

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def _publish(kafka_producer: Any, event: EscalationRouted) -> None:
    await kafka_producer.send_and_wait(
        topics.ESCALATIONS_ROUTED,
        event.model_dump_json().encode(),
        key=event.conversation_id.encode(),
    )


def _settings(kafka: str, database: str) -> QueueApiSettings:
    return QueueApiSettings(
        kafka_bootstrap_servers=kafka, database_url=database, stream_heartbeat_seconds=1.0
    )


async def test_a_client_disconnected_while_20_arrive_gets_all_20_after_reconnecting(
    kafka: str, database: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    settings = _settings(kafka, database)
    app = create_app(settings)
    bearer = token(settings, "alice", tenant, Role.SUPERVISOR)
    first = routed(tenant)
    missed = [routed(tenant) for _ in range(20)]
    async with serve(app) as address, producer(kafka) as kafka_producer:
        stream = f"ws://{address}/api/v1/stream?access_token={bearer}"
        async with connect(stream) as websocket:
            # The client offered permessage-deflate; pushes go uncompressed (server_config).
            assert websocket.response is not None
            assert "Sec-WebSocket-Extensions" not in websocket.response.headers
            assert (await receive_json(websocket))["type"] == "ready"
            await _publish(kafka_producer, first)
            seen = await receive_until(websocket, lambda ms: len(pushes(ms)) >= 1)
        last_seq = pushes(seen)[-1]["seq"]

        for event in missed:
            await _publish(kafka_producer, event)
        async with api_client(app, bearer) as client:

            async def all_queued() -> bool:
                page = (await client.get("/api/v1/escalations", params={"limit": 100})).json()
                return len(page["items"]) == 21

            await eventually(all_queued)

        async with connect(f"{stream}&since={last_seq}") as websocket:
            replayed = await receive_until(
                websocket, lambda ms: any(m["type"] == "ready" for m in ms)
            )

    assert pushes(seen)[0]["escalation"]["escalation_id"] == str(first.escalation_id)
    got = [m["escalation"]["escalation_id"] for m in pushes(replayed)]
    assert sorted(got) == sorted(str(e.escalation_id) for e in missed)
    assert len(set(got)) == 20
    seqs = [m["seq"] for m in pushes(replayed)]
    assert seqs == sorted(seqs)
    assert seqs[0] == last_seq + 1
    assert {m["type"] for m in pushes(replayed)} == {"escalation.created"}


def _percentiles(latencies_ms: list[float]) -> str:
    ordered = sorted(latencies_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):6.1f} ms, p99 {p99:6.1f} ms, max {ordered[-1]:6.1f} ms"


async def test_latency_from_routed_to_websocket_push(
    kafka: str, database: str, unique: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Measured, not asserted: the time from publishing to ``escalations.routed`` until a
    WebSocket client has the push. Once one escalation at a time (the latency a supervisor
    sees), once as a burst of 200 published back to back (queueing included). The producer,
    queue-api and the client share one process and one event loop here."""
    tenant = f"t-{unique}"
    count = 200
    settings = _settings(kafka, database)
    app = create_app(settings)
    loop = asyncio.get_running_loop()
    async with serve(app) as address, producer(kafka) as kafka_producer:
        bearer = token(settings, "root", tenant, Role.ADMIN)
        async with connect(f"ws://{address}/api/v1/stream?access_token={bearer}") as websocket:
            assert (await receive_json(websocket))["type"] == "ready"
            # Warm up: the consumer has its partitions once one escalation made it through.
            await _publish(kafka_producer, routed(tenant))
            await receive_until(websocket, lambda ms: len(pushes(ms)) >= 1)

            one_at_a_time: list[float] = []
            for _ in range(count):
                event = routed(tenant)
                started = loop.time()
                await _publish(kafka_producer, event)
                messages = await receive_until(websocket, lambda ms: len(pushes(ms)) >= 1)
                assert pushes(messages)[0]["escalation"]["escalation_id"] == str(
                    event.escalation_id
                )
                one_at_a_time.append((loop.time() - started) * 1000)

            events = [routed(tenant) for _ in range(count)]
            sent: dict[str, float] = {}
            arrived: dict[str, float] = {}

            async def read() -> None:
                while len(arrived) < count:
                    message = await receive_json(websocket, within=30)
                    if message["type"] == "escalation.created":
                        arrived[message["escalation"]["escalation_id"]] = loop.time()

            reader = asyncio.create_task(read())
            for event in events:
                sent[str(event.escalation_id)] = loop.time()
                await _publish(kafka_producer, event)
            await asyncio.wait_for(reader, 60)

    assert len(one_at_a_time) == count
    assert set(arrived) == set(sent)
    burst = [(arrived[key] - sent[key]) * 1000 for key in sent]
    with capsys.disabled():
        sys.stdout.write(
            f"\n[queue-api] escalations.routed -> WebSocket push ({count} escalations each)"
            f"\n  one at a time: {_percentiles(one_at_a_time)}"
            f"\n  burst:         {_percentiles(burst)}\n"
        )
