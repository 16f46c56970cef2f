"""Session-wide fixtures: one real Kafka broker and one real PostgreSQL per test run."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from escalator_runtime.kafka import ensure_topics
from escalator_schemas import topics
from tests import infra


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with infra.kafka_bootstrap_servers() as address:
        yield address


SERVICES = (
    "detector",
    "router",
    "queue-api",
    "queue-api-preview",
    "queue-api-conversations",
    "notifier",
    "webhook-dispatcher",
)


@pytest.fixture(scope="session")
async def kafka(kafka_bootstrap: str) -> AsyncIterator[str]:
    """The broker's address, with the contract's topics created.

    The services started by this test run consume in consumer groups of their own (the
    service's name plus a per-run suffix), positioned at the current end of every topic: runs
    sharing a broker do not steal each other's partitions, and none re-reads old history.
    """
    await ensure_topics(kafka_bootstrap)
    suffix = await groups_at_end(kafka_bootstrap, "test")
    previous = os.environ.get("KAFKA_GROUP_SUFFIX")
    os.environ["KAFKA_GROUP_SUFFIX"] = suffix
    yield kafka_bootstrap
    if previous is None:
        os.environ.pop("KAFKA_GROUP_SUFFIX", None)
    else:
        os.environ["KAFKA_GROUP_SUFFIX"] = previous


async def groups_at_end(bootstrap: str, label: str) -> str:
    """A new consumer-group suffix (``-<label>-<random>``) whose groups, one per entry of
    ``SERVICES``, start at the current end of every topic: a broker keeps earlier runs'
    history, which no run may re-read or count."""
    suffix = f"-{label}-{uuid.uuid4().hex[:8]}"
    await position_groups_at_end(bootstrap, [service + suffix for service in SERVICES])
    return suffix


async def position_groups_at_end(bootstrap: str, groups: list[str]) -> None:
    partitions = [
        TopicPartition(spec.name, p) for spec in topics.ALL_TOPICS for p in range(spec.partitions)
    ]
    for group in groups:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            await consumer.commit(dict(ends.items()))
        finally:
            await consumer.stop()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with infra.database_url() as url:
        yield url


@pytest.fixture(scope="session")
async def database(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test run on the real server, dropped afterwards."""
    async with infra.fresh_database(postgres_server_url, "escalator_test") as url:
        yield url


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
