"""``POST /escalations/{id}/summary`` in the agent's summary language, recorded in the audit."""

from datetime import timedelta

import pytest
from fastapi import FastAPI

from escalator_schemas.chat import Role as ChatRole
from escalator_schemas.events import TranscriptMessage
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.queue_api.support import routed, store
from tests.stack import api_client, demo_config, now, publish_config, token

pytestmark = pytest.mark.integration


def _conversation() -> list[TranscriptMessage]:
    start = now() - timedelta(minutes=5)
    lines = [
        (ChatRole.CUSTOMER, "Hola. Tengo una pregunta sobre mi pedido 4411."),
        (ChatRole.AI, "Lo siento mucho. ¿Puede enviarme una foto del producto?"),
        (ChatRole.CUSTOMER, "Ya la envié dos veces. Quiero un reembolso, por favor."),
        (ChatRole.AI, "Entiendo. Estoy revisando la política de devoluciones."),
        (ChatRole.CUSTOMER, "Esto es inaceptable!! Quiero hablar con una persona."),
    ]
    return [
        TranscriptMessage(
            message_id=f"m{n}", role=role, text=text, sent_at=start + timedelta(seconds=n)
        )
        for n, (role, text) in enumerate(lines)
    ]


async def test_summary_follows_the_agents_language_and_is_audited(
    queue_api: FastAPI, queue_settings: QueueApiSettings, database: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    await publish_config(database, tenant, "agent-es", demo_config(summary_language="es-MX"))
    spanish = routed(tenant, agent="agent-es", transcript=_conversation())
    unconfigured = routed(tenant, agent="agent-none", transcript=_conversation())
    await store(queue_api, [spanish, unconfigured])
    async with api_client(
        queue_api, token(queue_settings, "alice", tenant, Role.SUPERVISOR)
    ) as alice:
        answer = await alice.post(f"/api/v1/escalations/{spanish.escalation_id}/summary")
        default = await alice.post(f"/api/v1/escalations/{unconfigured.escalation_id}/summary")
        detail = (await alice.get(f"/api/v1/escalations/{spanish.escalation_id}")).json()

    assert answer.status_code == 200
    body = answer.json()
    assert (body["language"], body["requested_language"], body["method"]) == (
        "es",
        "es-MX",
        "offline",
    )
    assert body["text"].startswith("Escalado porque: The customer asked for a refund.")
    assert "Quiero un reembolso, por favor." in body["text"]
    assert "La IA ya respondió 2" in body["text"]
    assert body["sentiment"]["overall"] == "negative"
    assert body["sentiment"]["trend"] == "worsening"
    assert body["ai_attempts"] == [
        "Lo siento mucho.",
        "Entiendo.",
    ]
    assert default.json()["language"] == "en"
    assert default.json()["text"].startswith("Escalated because:")
    entry = detail["audit"][-1]
    assert (entry["action"], entry["actor"]) == ("summary_generated", "alice")
    assert entry["detail"] == {"text": body["text"], "language": "es", "method": "offline"}
