"""Chaos fixtures: a broker and a database server the suite may stop (tests/chaos/infra.py),
one database per run on it, and consumer groups of their own for every scenario."""

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from escalator_runtime.kafka import ensure_topics
from tests.chaos import infra
from tests.chaos.infra import Server
from tests.conftest import groups_at_end
from tests.infra import create_database, drop_database
from tests.notifier.smtp import SmtpServer
from tests.stack import eventually

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(scope="package")
def chaos_lock() -> Iterator[None]:
    with infra.exclusive():
        yield


@pytest.fixture(scope="package")
def chaos_kafka_server(chaos_lock: None) -> Server:
    server = infra.kafka()
    server.start()
    return server


@pytest.fixture(scope="package")
async def chaos_kafka(chaos_kafka_server: Server) -> str:
    await ensure_topics(chaos_kafka_server.address)
    return chaos_kafka_server.address


@pytest.fixture(scope="package")
def chaos_postgres_server(chaos_lock: None) -> Server:
    server = infra.postgres()
    server.start()
    return server


@pytest.fixture(scope="package")
async def chaos_database(chaos_postgres_server: Server) -> AsyncIterator[str]:
    """A fresh database for this run on the chaos server, dropped afterwards."""
    server_url = chaos_postgres_server.address
    name, url = await create_database(server_url, "escalator_chaos")
    yield url
    if not chaos_postgres_server.external:
        chaos_postgres_server.start()  # a failed outage scenario may have left it stopped
    await eventually(lambda: drop_database(server_url, name), within=60, interval=1)


@pytest.fixture
async def groups(chaos_kafka: str) -> str:
    """A consumer-group suffix for one scenario, positioned at the end of every topic: the
    chaos broker keeps earlier runs' history, which no scenario may count."""
    return await groups_at_end(chaos_kafka, "chaos")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
