"""The floors the end-to-end latency is compared with: one raw aiokafka produce→consume hop
with the services' Kafka settings, and Kafka's own EndToEndLatency tool."""

import asyncio
import re
import subprocess
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.stack import kafka_jars
from escalator_runtime.settings import ServiceSettings


async def raw_hop(kafka: str, rate: float, seconds: float) -> list[float]:
    """ms from handing a ~300-byte record to a producer to a consumer having it: the
    services' producer and fetch settings, a plain aiokafka loop, no decoding, no work."""
    settings = ServiceSettings()
    topic = f"bench.hop.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1)])
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=f"bench-hop-{uuid.uuid4().hex[:6]}",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await producer.start()
    await consumer.start()
    count = int(rate * seconds)
    sent: dict[bytes, float] = {}
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < count:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            now = time.perf_counter()
            latencies.extend(
                (now - sent[r.value or b""]) * 1000 for rs in batches.values() for r in rs
            )

    try:
        await producer.send_and_wait(topic, b"warm-up")
        await consumer.getmany(timeout_ms=5000)  # joined, assigned, positioned
        reader = asyncio.create_task(consume())
        padding = b"x" * 280
        started = time.perf_counter()
        for index in range(count):
            ahead = started + index / rate - time.perf_counter()
            if ahead > 0.001:
                await asyncio.sleep(ahead)
            value = b"%d-" % index + padding
            sent[value] = time.perf_counter()
            await producer.send(topic, value, key=b"%d" % (index % 97))
        await asyncio.wait_for(reader, 60)
        return latencies
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()


def kafka_floor(kafka: str, records: int = 3000) -> dict[str, float] | None:
    """Kafka's EndToEndLatency (one record at a time, acks=all, 300 bytes): its average and
    percentiles in ms, or None when no Kafka jars are on this machine."""
    jars = kafka_jars()
    if jars is None:
        return None
    result = subprocess.run(  # noqa: S603 - our arguments
        [  # noqa: S607 - java from PATH, as deploy/local/kafka.sh runs it
            "java",
            "-Xmx256m",
            "-Dlog4j2.level=ERROR",
            "-cp",
            f"{jars}/*",
            "org.apache.kafka.tools.EndToEndLatency",
            *("--bootstrap-server", kafka, "--topic", "bench.kafka-floor"),
            *("--num-records", str(records), "--producer-acks", "all", "--record-size", "300"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    average = re.search(r"Avg latency: ([\d.]+) ms", result.stdout)
    shares = re.search(r"50th = (\d+), 99th = (\d+), 99.9th = (\d+)", result.stdout)
    if average is None or shares is None:
        raise RuntimeError(f"unexpected EndToEndLatency output:\n{result.stdout[-2000:]}")
    return {
        "avg": float(average.group(1)),
        "p50": float(shares.group(1)),
        "p99": float(shares.group(2)),
        "p99.9": float(shares.group(3)),
    }
