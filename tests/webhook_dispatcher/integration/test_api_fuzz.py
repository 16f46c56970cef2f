"""Schemathesis (from PyPI) over queue-api's webhook operations, against a real uvicorn server
and the dispatcher's real tables: whatever it generates, the API never answers 5xx."""

from pathlib import Path

import pytest

from escalator_runtime.config_store import new_webhook_secret
from escalator_runtime.db import apply_migrations
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from tests.fuzz import schemathesis
from tests.stack import publish_config, running, serve, token
from tests.webhook_dispatcher.harness import detected, enqueue, hook, pool_of, webhooks_config

pytestmark = pytest.mark.integration

CONFIG = """
[generation]
max-examples = 10
database = "none"

[dictionaries.deliveries]
values = [{deliveries}]

[dictionaries.webhooks]
values = ["crm"]

[dictionaries.agents]
values = ["{agent}"]

[parameters]
"path.delivery_id" = {{ dictionary = "deliveries", probability = 0.7 }}
"path.webhook_id" = {{ dictionary = "webhooks", probability = 0.7 }}
"path.agent_id" = {{ dictionary = "agents", probability = 0.7 }}
"""


async def test_schemathesis_finds_no_server_error_in_the_webhook_api(
    kafka: str, database: str, unique: str, tmp_path: Path
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    subscription = hook("crm", "https://hooks.example.com/escalations", new_webhook_secret())
    await publish_config(database, tenant, agent, webhooks_config(subscription))
    async with pool_of(database) as pool:
        await apply_migrations(pool, "webhook-dispatcher", "webhook_dispatcher.migrations")
        events = [detected(tenant, agent, f"c-{unique}", n=n) for n in range(3)]
        deliveries = await enqueue(pool, events, [subscription])
        # Nobody sends them: mark them as a dispatcher would have.
        await pool.execute(
            "UPDATE webhook_deliveries SET status = 'failed' WHERE id = ANY($1::uuid[])",
            deliveries,
        )
    settings = QueueApiSettings(kafka_bootstrap_servers=kafka, database_url=database)
    app = create_queue_api(settings)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(deliveries=", ".join(f'"{d}"' for d in deliveries), agent=agent)
    )
    async with running(app), serve(app, lifespan=False) as address:
        returncode, report = await schemathesis(
            address,
            config,
            token(settings, "root", tenant),
            "/webhooks",
            seed=8,
            within=240,
        )
    assert returncode == 0, report[-6000:]
    assert "Tested: 5" in report
