from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from queue_api.main import create_app
from queue_api.settings import QueueApiSettings
from tests.stack import running


@pytest.fixture(scope="module")
def queue_settings(kafka: str, database: str) -> QueueApiSettings:
    return QueueApiSettings(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        stream_heartbeat_seconds=1.0,
        outbox_poll_seconds=0.5,
    )


@pytest.fixture(scope="module")
async def queue_api(queue_settings: QueueApiSettings) -> AsyncIterator[FastAPI]:
    """One running queue-api (lifespan entered) for the module's tests, on the real broker
    and database; each test keeps to its own tenant."""
    app = create_app(queue_settings)
    async with running(app):
        yield app
