"""Session-wide fixtures: one real Kafka broker and one real PostgreSQL per test run."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from escalator_runtime.kafka import ensure_topics
from tests import infra


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with infra.kafka_bootstrap_servers() as address:
        yield address


@pytest.fixture(scope="session")
async def kafka(kafka_bootstrap: str) -> str:
    """The broker's address, with the contract's topics created."""
    await ensure_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with infra.database_url() as url:
        yield url


@pytest.fixture(scope="session")
async def database(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test run on the real server, dropped afterwards."""
    name = f"escalator_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(postgres_server_url)
    yield urlunsplit(parts._replace(path="/" + name))
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def unique() -> str:
    """A short id that keeps one test's tenants and conversations apart from every other's."""
    return uuid.uuid4().hex[:12]


def pytest_report_header() -> list[str]:
    return [
        "infrastructure: "
        + (
            "environment"
            if os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            else "testcontainers"
            if infra.docker_answers()
            else "local scripts (deploy/local)"
        )
    ]
