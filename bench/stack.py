"""What the benchmarks share: a broker of their own, the services as processes of their own,
as in production, and what the machine's cores do meanwhile. (A database per run and consumer
groups at the topics' ends come from the tests' helpers: ``tests.infra.fresh_database``,
``tests.conftest.groups_at_end``.)"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.chaos.infra import Server
from tests.chaos.pipeline import MODULES
from tests.stack import ServiceProcess

STATE = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))


def kafka_server() -> Server:
    """Not the tests' broker: services of concurrent test runs consume every topic there (a
    router of another run routes the benchmark's escalations too) and would skew the figures.
    ``KAFKA_BOOTSTRAP_SERVERS`` overrides it."""
    env = {
        "ESCALATOR_STATE_DIR": str(STATE / "escalator-bench"),
        "KAFKA_PORT": "39092",
        "KAFKA_CONTROLLER_PORT": "39093",
    }
    return Server.from_environment("kafka.sh", "KAFKA_BOOTSTRAP_SERVERS", env)


@asynccontextmanager
async def services(
    kafka: str, database: str, suffix: str, names: Iterable[str], env: dict[str, str] | None = None
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The named services, each in its own process, with their default settings but for
    ``env``; warnings-only logs (a log line per escalation is work the figures should not
    include)."""
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database,
        "KAFKA_GROUP_SUFFIX": suffix,
        "LOG_LEVEL": "WARNING",
    } | (env or {})
    running = {name: ServiceProcess(MODULES[name][0], common, MODULES[name][1]) for name in names}
    try:
        await asyncio.gather(*(process.start(within=180) for process in running.values()))
        yield running
    finally:
        for process in running.values():
            process.stop()


def kafka_jars() -> Path | None:
    """The jars deploy/local/kafka.sh downloaded (for Kafka's own tools), wherever a local
    broker was started: the benchmarks' and tests' one first."""
    folders = (
        [Path(os.environ["ESCALATOR_STATE_DIR"])] if "ESCALATOR_STATE_DIR" in os.environ else []
    )
    names = ("escalator-bench", "escalator-test", "escalator", "escalator-chaos")
    folders += [STATE / name for name in names]
    for folder in folders:
        if any((folder / "kafka" / "libs").glob("kafka-tools-*.jar")):
            return folder / "kafka" / "libs"
    return None


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used so far, in seconds summed over the cores
    (Linux /proc/stat: all but idle and I/O wait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def reference_ms() -> float:
    """Milliseconds this machine takes for a fixed piece of pure-Python work (best of five):
    the same code reads slower on a slower or shared host, so two runs compare only when their
    references agree."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        counts: dict[int, int] = {}
        for number in range(300_000):
            counts[number % 97] = counts.get(number % 97, 0) + len(str(number))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def busy_cores(seconds: float = 2.0) -> float:
    """Cores the machine's other processes keep busy, measured over ``seconds`` (an idle
    broker or database left running shows here, where the load average rounds it away)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds


def cpu_seconds(process: ServiceProcess) -> float:
    """CPU time the service's process has used so far (Linux /proc)."""
    assert process.process is not None
    fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
