"""Schemathesis (from PyPI) over the queue's operations in the OpenAPI document, against a real
uvicorn server: whatever it generates, the API never answers 5xx.

Path ids come from the generator and, most of the time, from a dictionary of real escalations
(some pending, one in progress, one completed), so the actions run on rows that exist."""

from pathlib import Path

import pytest
from fastapi import FastAPI

from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.fuzz import schemathesis
from tests.queue_api.support import routed, store
from tests.stack import api_client, demo_config, publish_config, serve, token

pytestmark = pytest.mark.integration

CONFIG = """
[generation]
max-examples = {examples}
database = "none"

[dictionaries.escalations]
values = [{ids}]

[parameters]
"path.escalation_id" = {{ dictionary = "escalations", probability = 0.7 }}
"""


async def test_schemathesis_finds_no_server_error(
    queue_api: FastAPI,
    queue_settings: QueueApiSettings,
    database: str,
    unique: str,
    tmp_path: Path,
) -> None:
    tenant = f"t-{unique}"
    await publish_config(database, tenant, "agent-1", demo_config(summary_language="fr"))
    escalations = [routed(tenant) for _ in range(6)]
    await store(queue_api, escalations)
    bearer = token(queue_settings, "root", tenant, Role.ADMIN)
    async with api_client(queue_api, bearer) as client:
        claimed, completed = escalations[0].escalation_id, escalations[1].escalation_id
        assert (await client.post(f"/api/v1/escalations/{claimed}/claim")).status_code == 200
        assert (await client.post(f"/api/v1/escalations/{completed}/claim")).status_code == 200
        done = await client.post(
            f"/api/v1/escalations/{completed}/complete", json={"resolution_note": "done"}
        )
        assert done.status_code == 200
        schema = (await client.get("/openapi.json")).json()
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            examples=10, ids=", ".join(f'"{event.escalation_id}"' for event in escalations)
        )
    )
    async with serve(queue_api, lifespan=False) as address:
        returncode, report = await schemathesis(
            address, config, bearer, "^/api/v1/escalations", seed=5, within=90
        )
    assert returncode == 0, report[-6000:]
    ours = [path for path in schema["paths"] if path.startswith("/api/v1/escalations")]
    assert len(ours) == 7
    assert "Tested: 7" in report
