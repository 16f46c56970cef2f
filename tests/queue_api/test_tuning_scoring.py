"""Issue 9: the tuning report has a real detector (``POST /internal/v1/backtest``, behind its
bearer token) score the period's conversations that were never escalated and not scored yet,
stores the peak frustration, counts the frustrated ones as missed escalations, and scores a
conversation again only once it has gone on."""

from datetime import timedelta
from typing import Any

import pytest

from queue_api.auth import Role
from tests.queue_api.support import pool_of, with_detector
from tests.queue_api.tuning_support import END, START, Conversation, at, record
from tests.stack import api_client, demo_config, publish_config, token

pytestmark = [pytest.mark.integration]

TOKEN = "tuning-backtest-token"
ANGRY = "This is ridiculous!!! I asked THREE times and you keep ignoring me. Useless, I am furious."
CALM = "Thanks, that answers my question about the delivery date."


async def test_the_detector_scores_what_was_not_scored(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"agent-{unique}"
    await publish_config(database, tenant, agent, demo_config())
    async with (
        with_detector(kafka, database, TOKEN) as (app, settings),
        api_client(app, token(settings, "root", tenant, Role.ADMIN)) as admin,
    ):
        await record(
            app,
            tenant,
            agent,
            [
                Conversation("angry", at(0, 9), at(0, 10), None, ANGRY),
                Conversation("calm", at(1, 9), at(1, 10), None, CALM),
                # Scored before, up to its last message: left as it is.
                Conversation("known", at(1, 11), at(1, 12), 0.05, ANGRY),
            ],
        )
        period = {"from": START.isoformat(), "to": END.isoformat()}
        path = f"/api/v1/agents/{agent}/tuning-report"
        first: dict[str, Any] = (await admin.get(path, params=period)).json()
        stored = await _scores(app, tenant, agent)

        # The calm conversation goes on with an angry message: it is scored again.
        async with pool_of(app).acquire() as connection:
            await connection.execute(
                "UPDATE conversation_messages SET message = jsonb_set(message, '{text}',"
                " to_jsonb($3::text)) WHERE tenant_id = $1 AND conversation_id = $2"
                " AND message_id = 'calm-1'",
                tenant,
                "calm",
                ANGRY,
            )
            await connection.execute(
                "UPDATE conversations SET last_message_at = last_message_at"
                " + interval '1 minute' WHERE tenant_id = $1 AND conversation_id = 'calm'",
                tenant,
            )
        second: dict[str, Any] = (await admin.get(path, params=period)).json()
        rescored = await _scores(app, tenant, agent)

    watch = first["missed_escalations"]["watch_level"]
    assert stored["angry"][0] >= watch
    assert stored["calm"][0] < watch
    assert stored["known"][0] == 0.05  # not sent again
    for name in ("angry", "calm", "known"):
        assert stored[name][1] == stored[name][2], name  # scored up to its last message
    scoring = first["missed_escalations"]["scoring"]
    assert scoring == {"status": "complete", "scored": 3, "unscored": 0, "note": None}
    missed = first["missed_escalations"]
    assert (missed["count"], missed["frustration_detected"]) == (1, 1)
    assert missed["items"][0]["conversation_id"] == "angry"

    assert rescored["calm"][0] >= watch
    assert rescored["calm"][1] == rescored["calm"][2] == stored["calm"][2] + timedelta(minutes=1)
    assert rescored["angry"] == stored["angry"]
    assert second["missed_escalations"]["frustration_detected"] == 2


async def _scores(app: Any, tenant: str, agent: str) -> dict[str, tuple[Any, Any, Any]]:
    """Per conversation: peak_frustration, frustration_scored_through, last_message_at."""
    async with pool_of(app).acquire() as connection:
        rows = await connection.fetch(
            "SELECT conversation_id, peak_frustration, frustration_scored_through,"
            " last_message_at FROM conversations WHERE tenant_id = $1 AND agent_id = $2",
            tenant,
            agent,
        )
    return {
        row["conversation_id"]: (
            row["peak_frustration"],
            row["frustration_scored_through"],
            row["last_message_at"],
        )
        for row in rows
    }
