"""Chaos fixtures: a broker and a database server the suite may stop (tests/chaos/infra.py),
one database per run on it, and consumer groups of their own for every scenario."""

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from escalator_runtime.kafka import ensure_topics
from queue_api import conversations
from tests.chaos import infra
from tests.chaos.infra import Server
from tests.conftest import SERVICES, position_groups_at_end
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
    name = f"escalator_chaos_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    if not chaos_postgres_server.external:
        chaos_postgres_server.start()  # a failed outage scenario may have left it stopped
    await eventually(lambda: _dropped(server_url, name), within=60, interval=1)


async def _dropped(server_url: str, name: str) -> bool:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except asyncpg.InsufficientPrivilegeError:
        return False  # an autovacuum worker is in it, which only a superuser may end
    finally:
        await admin.close()
    return True


@pytest.fixture
async def groups(chaos_kafka: str) -> str:
    """A consumer-group suffix for one scenario, positioned at the end of every topic: the
    chaos broker keeps earlier runs' history, which no scenario may count."""
    suffix = f"-chaos-{uuid.uuid4().hex[:8]}"
    # queue-api's conversation store reads chat.messages in a group of its own, too.
    groups = (*SERVICES, conversations.CONSUMER_GROUP)
    await position_groups_at_end(chaos_kafka, [group + suffix for group in groups])
    return suffix


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
