"""Detector throughput on the real broker, against a raw aiokafka consume→produce loop measured
in the same run, and the decision code's own latency per message.

    make bench            (or: uv run python -m bench.detector --messages 40000)
"""

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tests import infra
from tests.stack import ServiceProcess, demo_config, eventually, publish_config

from bench.common import Row, chat_messages, percentile, record, table
from detector.engine import Inbound, evaluate_batch
from detector.judges import build_judge
from detector.settings import DetectorSettings
from detector.state import ConversationKey, ConversationState
from escalator_runtime.kafka import ensure_topics
from escalator_runtime.service import settle_garbage_collector
from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import AgentConfigVersion, EscalationConfig, TriggerCondition

CONDITIONS = [
    TriggerCondition(
        label="Angry Customer Escalation",
        description="Escalate when user expresses anger, repeated complaint, or asks immediate"
        " human intervention.",
    ),
    TriggerCondition(
        label="Wholesale inquiry",
        description="Escalate when a customer asks about buying more than 100 units or about"
        " becoming a reseller.",
    ),
]


async def produce(bootstrap: str, topic: str, payloads: list[dict[str, object]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic, json.dumps(p).encode(), key=str(p["conversation_id"]).encode()
            )
            for p in payloads
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_loop(bootstrap: str, payloads: list[dict[str, object]]) -> float:
    """The floor: consume each record and produce one record, no decoding, no decision."""
    source, sink = f"bench.raw.{uuid.uuid4().hex[:8]}", f"bench.raw.out.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 6, 1) for t in (source, sink)])
    try:
        await produce(bootstrap, source, payloads)
        consumer = AIOKafkaConsumer(
            source,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks="all")
        await consumer.start()
        await producer.start()
        done, started = 0, 0.0
        try:
            while done < len(payloads):
                batches = await consumer.getmany(timeout_ms=100, max_records=500)
                if batches and not started:
                    started = time.perf_counter()
                futures = [
                    await producer.send(sink, record.value, key=record.key)
                    for records in batches.values()
                    for record in records
                ]
                await asyncio.gather(*futures)
                if futures:
                    await consumer.commit()
                done += len(futures)
            return len(payloads) / (time.perf_counter() - started)
        finally:
            await consumer.stop()
            await producer.stop()
    finally:
        await admin.delete_topics([source, sink])
        await admin.close()


async def committed(admin: AIOKafkaAdminClient, group: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topics.CHAT_MESSAGES)


async def end_offsets(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.CHAT_MESSAGES, p) for p in range(6)]
        ends = await consumer.end_offsets(partitions)
        await asyncio.sleep(0.1)  # aiokafka#647: do not stop a consumer right after start
        return sum(ends.values())
    finally:
        await consumer.stop()


async def detector_throughput(
    bootstrap: str, database: str, payloads: list[dict[str, object]], use_model: bool
) -> float:
    """Messages per second through a real detector process, from the first records it reports
    taken to the last one committed (start-up and the consumer group join are left out)."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database,
        "LOG_LEVEL": "WARNING",
        "DETECTOR_JUDGE_USE_MODEL": "true" if use_model else "false",
        # The traffic is produced before the detector starts, so every message has waited:
        # without this the backlog rule would judge them all from the cues, and the row would
        # not measure the model. (The model's CPU budget still applies, as shipped.)
        "DETECTOR_JUDGE_MODEL_MAX_WAIT_MS": str(3_600_000),
    }
    detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await detector.start()  # catches up with anything older first
        before = await end_offsets(bootstrap)
        await eventually(lambda: _at_least(admin, before), within=120)
        detector.stop()
        await produce(bootstrap, topics.CHAT_MESSAGES, payloads)
        target = before + len(payloads)
        detector = ServiceProcess("detector.main", env, "DETECTOR_PORT")
        # Not start(): its HTTP server answers once its consumers joined the group, as they
        # begin to read, but /readyz is asked every 0.2 s and asks the busy broker client.
        detector.spawn()
        async with httpx.AsyncClient() as client:
            # The process's own count of records taken, from the first it reports: what is
            # left of the traffic then, until the last of it is committed.
            taken, started = await eventually(
                lambda: _taking(client, detector), within=120, interval=0.005
            )
        sys.stderr.write(f"detector throughput: {taken:,.0f} of {len(payloads):,} taken at start\n")
        if taken >= len(payloads):
            return float("nan")  # all taken before the process answered: nothing to time
        await eventually(lambda: _at_least(admin, target), within=600, interval=0.02)
        return (len(payloads) - taken) / (time.perf_counter() - started)
    finally:
        detector.stop()
        await admin.close()


async def _at_least(admin: AIOKafkaAdminClient, target: int) -> bool:
    return await committed(admin, "detector") >= target


async def _taking(
    client: httpx.AsyncClient, detector: ServiceProcess
) -> tuple[float, float] | None:
    """How many chat messages the detector has taken (its Prometheus counter) once it took
    any, and the moment it was asked: a busy process answers late, and the time the answer
    took counts against it. None until then."""
    detector.check_running()
    asked = time.perf_counter()
    try:
        consumed = "escalator_messages_consumed_total"
        taken = await detector.metric(consumed, {"topic": topics.CHAT_MESSAGES}, client)
    except httpx.HTTPError:
        return None
    return (taken, asked) if taken else None


@dataclass(frozen=True, slots=True)
class Decisions:
    """Seconds per message of the engine alone, split by whether the message escalated."""

    calm: list[float]
    escalating: list[float]

    @property
    def every(self) -> list[float]:
        return [*self.calm, *self.escalating]


async def decision_latency(
    payloads: list[dict[str, object]],
    with_conditions: bool,
    use_model: bool,
    warm_up: Sequence[dict[str, object]] = (),
) -> Decisions:
    """Seconds per message of the engine alone (one message per call, state in memory), after
    ``warm_up`` went through the same judge once (as in a service that has been running: the
    first occurrence of each code path, pattern and cached plan is start-up cost)."""
    config = AgentConfigVersion(
        tenant_id="bench",
        agent_id="bench",
        version=1,
        config=EscalationConfig(
            enabled=True, trigger_conditions=CONDITIONS if with_conditions else []
        ),
    )
    messages = [ChatMessage.model_validate(p) for p in payloads]
    earlier = [ChatMessage.model_validate(p) for p in warm_up]
    states = {ConversationKey.of(m): ConversationState() for m in [*earlier, *messages]}
    calm: list[float] = []
    escalating: list[float] = []
    async with build_judge(DetectorSettings(judge_use_model=use_model)) as judge:
        for message in earlier or messages[:1]:
            await evaluate_batch([Inbound(message, config)], states, judge)
        # the garbage collector as a started detector runs it (``escalator_runtime.service``)
        threshold = gc.get_threshold()
        settle_garbage_collector(DetectorSettings().gc_gen0_threshold)
        for message in messages[1:]:
            started = time.perf_counter()
            outcome = await evaluate_batch([Inbound(message, config)], states, judge)
            (escalating if outcome.detected else calm).append(time.perf_counter() - started)
        gc.unfreeze()
        gc.set_threshold(*threshold)
    return Decisions(calm, escalating)


async def rows(bootstrap: str, database: str, count: int, escalating: float) -> list[Row]:
    """The detector's rows of the table: throughput against the raw loop, decision latency."""
    run = uuid.uuid4().hex[:6]
    rules_agent, judged_agent = f"rules-{run}", f"judged-{run}"
    await publish_config(database, "bench", rules_agent, demo_config(idle_timeout_seconds=None))
    await publish_config(
        database,
        "bench",
        judged_agent,
        demo_config(idle_timeout_seconds=None, trigger_conditions=CONDITIONS),
    )
    # The decision code first, in a process as small as the detector's (the throughput
    # traffic below would make every garbage collection walk it, which no service does).
    sample = list(chat_messages(2_000, "bench", "latency", escalating))
    # other conversations, the same kinds of message: what ran before the measured ones
    warm_up = list(chat_messages(1_000, "bench", "warm-up", escalating, seed=11))
    plain = await decision_latency(sample, False, False, warm_up)
    conditions = await decision_latency(sample, True, True, warm_up)

    rules_traffic = list(chat_messages(count, "bench", rules_agent, escalating))
    judged_traffic = list(chat_messages(count // 4, "bench", judged_agent, escalating))

    raw = await raw_loop(bootstrap, rules_traffic)
    rules = await detector_throughput(bootstrap, database, rules_traffic, use_model=False)
    judged = await detector_throughput(bootstrap, database, judged_traffic, use_model=True)

    return [
        Row("raw aiokafka consume→produce", raw, "msg/s", goal="the floor"),
        Row(
            "detector: every signal, model off",
            rules,
            "msg/s",
            "raw loop",
            raw,
            "≥ 10,000 msg/s, ≥ 25% of raw",
        ),
        Row(
            "detector: + embedded condition judge",
            judged,
            "msg/s",
            "raw loop",
            raw,
            "≥ 2,000 msg/s",
        ),
        Row("decision p50, 300 chars, model off", percentile(plain.every, 50) * 1e6, "µs"),
        Row(
            "decision p99, 300 chars, model off",
            percentile(plain.every, 99) * 1e6,
            "µs",
            goal="≤ 150 µs",
        ),
        Row(
            f"  p99 of the {len(plain.calm):,} that escalate nothing",
            percentile(plain.calm, 99) * 1e6,
            "µs",
        ),
        Row(
            f"  p50 of the {len(plain.escalating)} that escalate (and build the event), max "
            f"{max(plain.escalating, default=0.0) * 1e6:,.0f} µs",
            percentile(plain.escalating, 50) * 1e6,
            "µs",
        ),
        Row("decision p50, 2 conditions, model on", percentile(conditions.every, 50) * 1e6, "µs"),
        Row("decision p99, 2 conditions, model on", percentile(conditions.every, 99) * 1e6, "µs"),
    ]


async def main(count: int, escalating: float) -> int:
    with infra.kafka_bootstrap_servers() as bootstrap, infra.database_url() as database:
        await ensure_topics(bootstrap)
        table_rows = await rows(bootstrap, database, count, escalating)
    sys.stdout.write(
        table(
            f"Detector ({count:,} messages, {escalating:.0%} escalating, {os.cpu_count()} cores)",
            table_rows,
        )
        + "\n"
    )
    path = record("detector", table_rows, {"messages": count, "escalating_share": escalating})
    sys.stdout.write(f"written to {path.relative_to(Path.cwd())}\n")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=160_000)
    parser.add_argument("--escalating", type=float, default=0.03)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.messages, args.escalating)))
