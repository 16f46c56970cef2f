"""The dispatcher SIGKILLed while requests are under way, and events published while it is
down: after a restart everything is delivered, what was resent with the same webhook-id."""

import pytest
from standardwebhooks.webhooks import Webhook
from starlette.responses import Response

from escalator_runtime.config_store import new_webhook_secret
from escalator_schemas import topics
from tests.stack import ServiceProcess, eventually, producer, publish_config
from tests.webhook_dispatcher.harness import (
    Received,
    detected,
    hook,
    pool_of,
    receiving,
    webhooks_config,
)

pytestmark = pytest.mark.integration


async def test_killed_mid_delivery_and_restarted_delivers_everything(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    secret = new_webhook_secret()
    hanging = True

    async def hang_until_restart(_index: int, _request: Received) -> Response:
        if hanging:
            return await receiver.hang()
        return Response(status_code=204)

    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": database,
        "WEBHOOK_DISPATCHER_ALLOW_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_DISPATCHER_LEASE_SECONDS": "2",
        "WEBHOOK_DISPATCHER_REQUEST_TIMEOUT_SECONDS": "60",
        "WEBHOOK_DISPATCHER_RETRY_SCHEDULE_SECONDS": "0,0.5,0.5,0.5",
        "WEBHOOK_DISPATCHER_RETRY_JITTER": "0",
        "WEBHOOK_DISPATCHER_POLL_INTERVAL_SECONDS": "0.5",
    }
    port = "WEBHOOK_DISPATCHER_PORT"
    events = [detected(tenant, agent, conversation, n=n) for n in range(10)]
    dispatcher = ServiceProcess("webhook_dispatcher.main", env, port)
    async with (
        receiving(hang_until_restart) as receiver,
        pool_of(database) as pool,
        producer(kafka) as send,
    ):
        subscription = hook("crm", receiver.url, secret, ["escalation.detected"])
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        try:
            await dispatcher.start()
            for event in events[:6]:
                await send.send_and_wait(
                    topics.ESCALATIONS_DETECTED,
                    event.model_dump_json().encode(),
                    key=conversation.encode(),
                )
            # Four requests (the per-host limit) are under way when the process dies.
            await eventually(lambda: _at_least(receiver.active, 4), within=60)
            cut_off = list(receiver.ids())
            dispatcher.kill()
            for event in events[6:]:
                await send.send_and_wait(
                    topics.ESCALATIONS_DETECTED,
                    event.model_dump_json().encode(),
                    key=conversation.encode(),
                )
            hanging = False
            dispatcher = ServiceProcess("webhook_dispatcher.main", env, port)
            await dispatcher.start()

            async def all_delivered() -> list[str] | None:
                statuses = await pool.fetch(
                    "SELECT status FROM webhook_deliveries WHERE tenant_id = $1", tenant
                )
                done = len(statuses) == 10 and all(r["status"] == "succeeded" for r in statuses)
                return [r["status"] for r in statuses] if done else None

            await eventually(all_delivered, within=90)
            count = await pool.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1", tenant
            )
        finally:
            dispatcher.stop()

    expected = {str(event.event_id) for event in events}
    assert count == 10
    assert len(cut_off) == 4
    assert set(receiver.ids()) == expected
    # What was under way at the kill was sent again, with the same webhook-id.
    answered = [r.webhook_id for r in receiver.requests[len(cut_off) :]]
    assert set(cut_off) <= set(answered)
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)


async def _at_least(value: int, minimum: int) -> bool:
    return value >= minimum
