"""Where the end-to-end time goes, escalation by escalation: from publishing the chat message to
the detector's ``escalations.detected`` record (its create time), to the router's decision row
(``decided_at``: the start of its routing statement), to its ``escalations.routed`` record, to
queue-api's row (``created_at``: its transaction's start), to the first supervisor's WebSocket
having the push. One clock: every process runs on this host."""

import json
import time
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from tests.chaos.pipeline import Lag

from bench.common import percentile
from escalator_schemas import topics

TOPICS = (topics.ESCALATIONS_DETECTED, topics.ESCALATIONS_ROUTED)
STAGES = (
    "detector",
    "router, up to its routing statement",
    "router's routing statement",
    "queue-api store",
    "push to first supervisor",
)

# perf_counter() readings (what the benchmark records) to wall-clock seconds.
WALL = time.time() - time.perf_counter()


async def breakdown(
    lag: Lag,
    database: str,
    tenant: str,
    since: dict[TopicPartition, int],
    sent: dict[str, float],
    arrivals: list[dict[str, float]],
) -> dict[str, dict[str, float]]:
    """p50/p95/p99 ms of each stage for the escalations of one run (``since``: the detected
    and routed topics' ends before it; ``sent`` and ``arrivals``: perf_counter readings)."""
    created: dict[str, dict[str, float]] = {topic: {} for topic in TOPICS}
    for record in await lag.read(since):
        event: dict[str, Any] = json.loads(record.value or b"{}")
        if event.get("tenant_id") == tenant:
            # The first record counts: a replay after a failure is not what a supervisor waits on.
            created[record.topic].setdefault(event["escalation_id"], record.timestamp / 1000)
    connection = await asyncpg.connect(database)
    try:
        # The router and queue-api share the benchmark's database: one query reads both rows.
        rows = await connection.fetch(
            "SELECT e.escalation_id::text AS id, extract(epoch FROM d.decided_at) AS decided,"
            " extract(epoch FROM e.created_at) AS stored"
            " FROM escalations e JOIN router_decisions d USING (escalation_id)"
            " WHERE e.tenant_id = $1",
            tenant,
        )
    finally:
        await connection.close()
    detected, routed = created[topics.ESCALATIONS_DETECTED], created[topics.ESCALATIONS_ROUTED]
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for row in rows:
        key = row["id"]
        first = min((mine[key] for mine in arrivals if key in mine), default=None)
        if key not in sent or key not in detected or key not in routed or first is None:
            continue
        decided, stored = float(row["decided"]), float(row["stored"])
        marks = [sent[key] + WALL, detected[key], decided, routed[key], stored, first + WALL]
        for stage, start, end in zip(STAGES, marks, marks[1:], strict=False):
            samples[stage].append((end - start) * 1000)
    return {
        stage: {f"p{share}": round(percentile(values, share), 1) for share in (50, 95, 99)}
        for stage, values in samples.items()
        if values
    }
