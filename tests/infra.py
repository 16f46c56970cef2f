"""Real infrastructure for tests: what the environment points at, else a testcontainer when a
Docker engine answers, else the project's local stack scripts (deploy/local)."""

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


# Tests and benchmarks get a broker of their own, apart from the one `make run` uses, so the
# stack a developer runs never replays test traffic (PostgreSQL is shared: every test run
# creates a database of its own).
TEST_KAFKA = {
    "ESCALATOR_STATE_DIR": str(
        Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "escalator-test"
    ),
    "KAFKA_PORT": "19092",
    "KAFKA_CONTROLLER_PORT": "19093",
}


def _local_script(script: str, variable: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["bash", str(LOCAL / script), "start"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=os.environ | (env or {}),
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} start failed:\n{result.stderr[-4000:]}")
    for line in reversed(result.stdout.strip().splitlines()):
        if line.startswith(variable + "="):
            return line.split("=", 1)[1]
    raise RuntimeError(f"{script} did not print {variable}")


@contextmanager
def kafka_bootstrap_servers() -> Iterator[str]:
    if address := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield address
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.3.1").with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        yield _local_script("kafka.sh", "KAFKA_BOOTSTRAP_SERVERS", TEST_KAFKA)


@contextmanager
def database_url() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield container.get_connection_url()
    else:
        yield _local_script("postgres.sh", "DATABASE_URL")


async def create_database(server_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database on the server: its name and its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, urlunsplit(urlsplit(server_url)._replace(path="/" + name))


async def drop_database(server_url: str, name: str) -> bool:
    """Drop the database (its connections ended); False when an autovacuum worker is in it,
    which only a superuser may end: then it is left behind."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except asyncpg.InsufficientPrivilegeError:
        return False
    finally:
        await admin.close()
    return True


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """An empty database on the server for one run (its URL), dropped afterwards."""
    name, url = await create_database(server_url, prefix)
    try:
        yield url
    finally:
        await drop_database(server_url, name)
