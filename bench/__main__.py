"""``make bench``: every benchmark on the real broker and database, printed as one table with
each figure next to a baseline measured in the same run, and written as JSON to
bench/results/<timestamp>.json and bench/results/latest.json so runs can be compared.

    uv run python -m bench [--messages 160000] [--seconds 20] [--only latency,queue]

Figures depend on the machine and on what else runs on it: compare runs made on one machine,
at rest. The broker is the benchmarks' own (bench/stack.py); PostgreSQL is the tests' server,
with a database created for the run and dropped afterwards.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests import infra
from tests.conftest import groups_at_end

from bench import detector, latency, queue, webhooks
from bench.common import RESULTS, Row, table
from bench.stack import busy_cores, kafka_server, reference_ms
from escalator_runtime.kafka import ensure_topics
from escalator_runtime.settings import ServiceSettings

SECTIONS = ("detector", "latency", "webhooks", "queue")


def say(line: str) -> None:
    sys.stderr.write(f"bench: {line}\n")


async def measure(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    kafka = await kafka_server().started()
    await ensure_topics(kafka)
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    with infra.database_url() as server:
        async with infra.fresh_database(server, "escalator_bench") as database:
            if "detector" in args.only:
                say(f"detector throughput, {args.messages:,} messages, against a raw loop")
                rows += await detector.rows(kafka, database, args.messages, args.escalating)
            if "latency" in args.only:
                say("publish→WebSocket at 500 and 2,000 msg/s; raw hop; Kafka EndToEndLatency")
                suffix = await groups_at_end(kafka, "bench")
                found, extra["latency"] = await latency.rows(
                    kafka, database, suffix, args.escalating, args.seconds
                )
                rows += found
            if "webhooks" in args.only:
                say(f"webhook deliveries ({args.webhooks:,}) against a raw httpx loop")
                suffix = await groups_at_end(kafka, "bench")
                rows += await webhooks.rows(kafka, database, suffix, args.webhooks)
            if "queue" in args.only:
                say("queue list and claim, 50 supervisors, against raw asyncpg")
                suffix = await groups_at_end(kafka, "bench")
                rows += await queue.rows(kafka, database, suffix)
    return rows, extra


def write(
    rows: list[Row], extra: dict[str, Any], args: argparse.Namespace, machine: dict[str, float]
) -> Path:
    settings = ServiceSettings()
    document = {
        "at": datetime.now(UTC).isoformat(),
        "cores": os.cpu_count(),
        **machine,
        "arguments": vars(args),
        "kafka_settings": {
            "linger_ms": settings.kafka_linger_ms,
            "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
            "batch_timeout_ms": settings.kafka_batch_timeout_ms,
            "batch_max_records": settings.kafka_batch_max_records,
        },
        "rows": [
            {
                "name": row.name,
                "value": row.value,
                "unit": row.unit,
                "baseline": row.baseline,
                "baseline_value": row.baseline_value,
                "goal": row.goal,
            }
            for row in rows
        ],
        **extra,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    text = json.dumps(document, indent=2, ensure_ascii=False)
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--messages",
        type=int,
        default=160_000,
        help="detector throughput (enough that start-up, before the process answers, is a "
        "small part of it)",
    )
    parser.add_argument("--escalating", type=float, default=0.03)
    parser.add_argument("--seconds", type=float, default=20.0, help="at 500 msg/s (half at 2k)")
    parser.add_argument("--webhooks", type=int, default=2_000)
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    # What the machine was like before the run: two runs compare only when this agrees.
    machine = {
        "load_average_at_start": os.getloadavg()[0],
        "busy_cores_at_start": busy_cores(),
        "reference_ms": reference_ms(),
    }
    started = time.perf_counter()
    rows, extra = asyncio.run(measure(args))
    title = (
        f"Escalator benchmarks — {os.cpu_count()} cores, {machine['busy_cores_at_start']:.2f}"
        f" busy at start (load {machine['load_average_at_start']:.1f}), CPU reference"
        f" {machine['reference_ms']:.0f} ms (compare runs whose references agree),"
        f" {time.perf_counter() - started:.0f} s"
    )
    sys.stdout.write(table(title, rows) + "\n")
    path = write(rows, extra, args, machine)
    sys.stdout.write(f"written to {path.relative_to(Path.cwd())} and latest.json\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
