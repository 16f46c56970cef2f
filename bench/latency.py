"""End-to-end latency: from a chat message published on ``chat.messages`` to the WebSocket push
of the escalation it triggers, at every supervisor it was routed to, under a steady rate of
realistic traffic (detector → router → queue-api: three Kafka hops, PostgreSQL, the stream).

Baselines, measured in the same run on the same broker: a raw aiokafka produce→consume hop at
the same rate with the services' Kafka settings, and Kafka's own EndToEndLatency tool (Java,
one record at a time: the broker's floor on this machine)."""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from tests.chaos.pipeline import Lag
from tests.stack import demo_config, eventually, publish_config, token
from websockets.asyncio.client import ClientConnection, connect

from bench import stages
from bench.common import Row, chat_messages, decided_by_model, percentile
from bench.floor import kafka_floor, raw_hop
from bench.stack import cpu_seconds, machine_busy_seconds, services
from escalator_schemas import topics
from escalator_schemas.config import Supervisor
from escalator_schemas.ids import escalation_id_for
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings

PATH = ("detector", "router", "queue-api")
NO_MODEL = {"DETECTOR_JUDGE_USE_MODEL": "false"}
SUPERVISORS = 50
TRICKLE = 10.0
"""msg/s of the hop baseline for the stages escalations travel: a few a second at 500 chat
messages/s."""


@dataclass
class Pushes:
    """When each supervisor's connection received each new escalation."""

    arrived: list[dict[str, float]] = field(default_factory=list)

    async def read(self, websocket: ClientConnection, index: int) -> None:
        mine = self.arrived[index]
        async for text in websocket:
            now = time.perf_counter()
            message = json.loads(text)
            if message.get("type") == "escalation.created":
                mine.setdefault(message["escalation"]["escalation_id"], now)


async def _publish(
    producer: AIOKafkaProducer, messages: list[dict[str, Any]], rate: float
) -> dict[str, float]:
    """At ``rate`` per second; when each message was handed to the producer, by the id of the
    escalation it would trigger (ids are derived from the triggering message)."""
    sent: dict[str, float] = {}
    futures = []
    started = time.perf_counter()
    for index, message in enumerate(messages):
        ahead = started + index / rate - time.perf_counter()
        if ahead > 0.001:
            await asyncio.sleep(ahead)  # pacing: the traffic's rate
        sent[_escalation_of(message)] = time.perf_counter()
        futures.append(
            await producer.send(
                topics.CHAT_MESSAGES,
                json.dumps(message).encode(),
                key=message["conversation_id"].encode(),
            )
        )
        if len(futures) >= 200:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    return sent


async def _queued(database: str, tenant: str) -> int:
    connection = await asyncpg.connect(database)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM escalations WHERE tenant_id = $1", tenant
            )
        )
    finally:
        await connection.close()


@dataclass
class Run:
    """One steady run: latencies in ms (each escalation at each connection), the CPU cores each
    process used (the benchmark's own client included), and where the time went."""

    latencies: list[float]
    cores: dict[str, float]
    stages: dict[str, dict[str, float]]
    modelled: list[float]
    """The latencies of the escalations only the embedding model could decide."""
    cued: list[float]
    """The latencies of the others: a keyword or the cues' sure anger or urgency decides them,
    without waiting for the model."""


def _cpu_used(running: dict[str, Any]) -> dict[str, float]:
    """CPU seconds so far of each service, of the benchmark itself, and of the whole machine
    (the broker, PostgreSQL and the rest share its cores with the services)."""
    used = {name: cpu_seconds(process) for name, process in running.items()}
    used["bench"] = time.process_time()
    used["machine"] = machine_busy_seconds()
    return used


def _cores(running: dict[str, Any], used: dict[str, float], wall: float) -> dict[str, float]:
    now = _cpu_used(running)
    return {name: round((now[name] - used[name]) / wall, 2) for name in used}


async def publish_to_push(
    kafka: str,
    database: str,
    suffix: str,
    runs: list[tuple[float, float]],
    escalating: float,
    env: dict[str, str] | None = None,
) -> list[Run]:
    """Each (rate, seconds) run in turn with one pipeline and 50 supervisors connected
    throughout; a slow first run warms it up and is not reported."""
    tenant, agent = f"bench-e2e-{uuid.uuid4().hex[:6]}", "support-bot"
    people = [
        Supervisor(id=f"sup{n}", name=f"Sup {n}", email=f"sup{n}@example.com")
        for n in range(SUPERVISORS)
    ]
    await publish_config(
        database, tenant, agent, demo_config(idle_timeout_seconds=None, supervisors=people)
    )
    settings = QueueApiSettings()  # the services' own: the same token secret
    results: list[Run] = []
    async with services(kafka, database, suffix, PATH, env) as running, Lag(kafka, suffix) as lag:
        stream = f"ws://127.0.0.1:{running['queue-api'].port}/api/v1/stream?access_token="
        sockets = [
            await connect(stream + token(settings, person.id, tenant, Role.SUPERVISOR))
            for person in people
        ]
        pushes = Pushes([{} for _ in sockets])
        readers = [asyncio.create_task(pushes.read(ws, n)) for n, ws in enumerate(sockets)]
        producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
        await producer.start()
        try:
            offset = 0
            for run, (rate, seconds) in enumerate([(50.0, 4.0), *runs]):
                count = int(rate * seconds)
                before = await _queued(database, tenant)
                since = await lag.ends(stages.TOPICS)
                traffic = list(chat_messages(offset + count, tenant, agent, escalating, run))
                used, wall = _cpu_used(running), time.perf_counter()
                sent = await _publish(producer, traffic[offset:], rate)
                offset += count
                await _everywhere(lag, database, tenant, before, pushes)
                cores = _cores(running, used, time.perf_counter() - wall)
                if run:
                    timed = [
                        (key, (arrived[key] - sent[key]) * 1000)
                        for arrived in pushes.arrived
                        for key in arrived
                        if key in sent
                    ]
                    found = await stages.breakdown(
                        lag, database, tenant, since, sent, pushes.arrived
                    )
                    modelled = {
                        _escalation_of(message)
                        for message in traffic[offset - count :]
                        if decided_by_model(message["text"])
                    }
                    results.append(
                        Run(
                            [ms for _, ms in timed],
                            cores,
                            found,
                            [ms for key, ms in timed if key in modelled],
                            [ms for key, ms in timed if key not in modelled],
                        )
                    )
                for arrived in pushes.arrived:
                    arrived.clear()
        finally:
            await producer.stop()
            for reader in readers:
                reader.cancel()
            for ws in sockets:
                await ws.close()
    return results


def _escalation_of(message: dict[str, Any]) -> str:
    """The id of the escalation ``message`` would trigger (ids derive from the message)."""
    return str(
        escalation_id_for(
            message["tenant_id"],
            message["agent_id"],
            "published",
            message["conversation_id"],
            message["message_id"],
        )
    )


async def _everywhere(lag: Lag, database: str, tenant: str, before: int, pushes: Pushes) -> None:
    """Every message through the three services, and every new escalation pushed to every
    supervisor (all of them match every escalation)."""

    async def done() -> bool:
        if any((await lag.behind(PATH)).values()):
            return False
        new = await _queued(database, tenant) - before
        return all(len(arrived) >= new for arrived in pushes.arrived)

    await eventually(done, within=180, interval=0.2)


def _p(samples: list[float], share: float) -> float:
    return percentile(samples, share) if samples else float("nan")


async def rows(
    kafka: str, database: str, suffix: str, escalating: float, seconds: float
) -> tuple[list[Row], dict[str, Any]]:
    """The latency rows: publish→push at 500 and 2,000 msg/s against a raw hop at the same
    rates, and the raw hop against Kafka's own tool; plus what the runs used (for the JSON)."""
    floor = kafka_floor(kafka)
    hops = {rate: await raw_hop(kafka, rate, min(seconds / 2, 10.0)) for rate in (500.0, 2000.0)}
    # Escalations travel as a trickle (a few a second at 500 chat messages/s): the router and
    # queue-api consumers are idle between two, and a hop to an idle consumer costs more.
    hops[TRICKLE] = await raw_hop(kafka, TRICKLE, 6.0)
    steady, fast = await publish_to_push(
        kafka, database, suffix, [(500.0, seconds), (2000.0, seconds / 2)], escalating
    )
    # The detector's embedded model is on by default; without it, what the rest costs.
    lexical, lexical_fast = await publish_to_push(
        kafka, database, suffix, [(500.0, seconds / 2), (2000.0, seconds / 2)], escalating, NO_MODEL
    )
    # Conversations escalate once: the share of messages that escalate, as measured.
    escalated = len(steady.latencies) / SUPERVISORS / (500.0 * seconds)
    label = f"{escalated:.1%} of messages escalating, {SUPERVISORS} supervisors"
    hop = "raw aiokafka hop, same rate"

    def against_hop(
        name: str, samples: list[float], share: int, rate: float, goal: str = ""
    ) -> Row:
        """The ``share`` percentile of ``samples`` next to the raw hop's at ``rate``."""
        return Row(name, _p(samples, share), "ms", hop, _p(hops[rate], share), goal)

    model = "escalations only the model decides"
    cued = "escalations the cues decide (no model wait)"
    off = "detector model off"
    table = [
        against_hop(
            f"publish→WebSocket p50 @500 msg/s ({label})", steady.latencies, 50, 500.0, "≤ 15 ms"
        ),
        against_hop("publish→WebSocket p95 @500 msg/s", steady.latencies, 95, 500.0),
        against_hop("publish→WebSocket p99 @500 msg/s", steady.latencies, 99, 500.0, "≤ 50 ms"),
        against_hop(
            f"  p50 of the {len(steady.modelled) // SUPERVISORS} {model}",
            steady.modelled,
            50,
            500.0,
        ),
        against_hop(f"  p99 of the {model}", steady.modelled, 99, 500.0),
        against_hop(f"  p99 of the {cued}", steady.cued, 99, 500.0),
        against_hop(f"publish→WebSocket p50 @500 msg/s, {off}", lexical.latencies, 50, 500.0),
        against_hop(f"publish→WebSocket p99 @500 msg/s, {off}", lexical.latencies, 99, 500.0),
        against_hop("publish→WebSocket p50 @2,000 msg/s", fast.latencies, 50, 2000.0),
        against_hop("publish→WebSocket p99 @2,000 msg/s", fast.latencies, 99, 2000.0, "≤ 100 ms"),
        against_hop(f"  p50 of the {model}", fast.modelled, 50, 2000.0),
        against_hop(f"  p99 of the {cued}", fast.cued, 99, 2000.0),
        against_hop(
            f"publish→WebSocket p99 @2,000 msg/s, {off}", lexical_fast.latencies, 99, 2000.0
        ),
    ]
    # Where the time went at 500 msg/s: the detector's stage, the router's first and queue-api's
    # store each include one Kafka hop, of the chat messages' rate (the detector's) or of the
    # escalations' trickle (the others'); the router's statement and the push include none.
    trickle = f"raw aiokafka hop, {TRICKLE:.0f} msg/s"
    detector, to_router_statement, _statement, store, _push = stages.STAGES
    hop_of = {
        detector: (hop, _p(hops[500.0], 50)),
        to_router_statement: (trickle, _p(hops[TRICKLE], 50)),
        store: (trickle, _p(hops[TRICKLE], 50)),
    }
    table.extend(
        Row(
            f"  of which {stage} p50 @500 msg/s", found["p50"], "ms", *hop_of.get(stage, ("", None))
        )
        for stage, found in steady.stages.items()
    )
    # Every process shares the cores: the broker, PostgreSQL, the services and this benchmark.
    table += [
        Row(
            "CPU busy on the machine @500 msg/s (all processes)",
            steady.cores["machine"],
            "cores",
            off,
            lexical.cores["machine"],
        ),
        Row("CPU busy on the machine @2,000 msg/s", fast.cores["machine"], "cores"),
    ]
    # The Java tool prints its percentiles in whole milliseconds, rounded down (a p50 under 1 ms
    # reads 0): the p50 rows compare with its average, which it prints to the microsecond.
    java = "Kafka EndToEndLatency (Java, 1 at a time)"
    table.extend(
        Row(
            f"raw aiokafka produce→consume hop p{share} @{rate:,.0f} msg/s",
            _p(hops[rate], share),
            "ms",
            f"{java}, {printed}" if floor else "(no Kafka jars here)",
            floor[figure] if floor else None,
            "the floor",
        )
        for rate in (500.0, TRICKLE)
        for share, figure, printed in ((50, "avg", "average"), (99, "p99", "whole ms"))
    )
    runs = {
        "500 msg/s": steady,
        "2,000 msg/s": fast,
        "500 msg/s, detector model off": lexical,
        "2,000 msg/s, detector model off": lexical_fast,
    }
    extra = {
        "kafka_end_to_end_latency": floor,
        "runs": {
            name: {"pushes": len(run.latencies), "cpu_cores": run.cores, "stages_ms": run.stages}
            for name, run in runs.items()
        },
    }
    return table, extra
