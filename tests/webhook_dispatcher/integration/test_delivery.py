"""Delivery against real HTTP receivers on 127.0.0.1, the real database and broker: retries,
timeouts, redirects, 410, the SSRF guard and per-endpoint concurrency."""

from uuid import UUID

import pytest
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook
from starlette.responses import Response

from escalator_runtime.config_store import new_webhook_secret
from tests.stack import publish_config
from tests.webhook_dispatcher.harness import (
    Received,
    answers,
    attempts,
    delivery,
    detected,
    dispatching,
    enqueue,
    finished,
    hook,
    pool_of,
    receiving,
    webhooks_config,
)

pytestmark = pytest.mark.integration


async def test_three_500s_then_200_delivers_once_with_the_same_webhook_id(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    secret = new_webhook_secret()
    async with receiving(answers(500, 500, 500, 200)) as receiver, pool_of(database) as pool:
        subscription = hook("crm", receiver.url, secret)
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        event = detected(tenant, agent, f"c-{unique}")
        async with dispatching(kafka, database):
            [delivery_id] = await enqueue(pool, [event], [subscription])
            [row] = await finished(pool, [delivery_id])
        tried = await attempts(pool, delivery_id)

    assert row["status"] == "succeeded"
    assert row["attempt_count"] == 4
    assert receiver.ids() == [str(event.event_id)] * 4
    for request in receiver.requests:
        assert Webhook(secret).verify(request.body, request.headers) == event.model_dump(
            mode="json"
        )
        assert request.headers["content-type"] == "application/json"
    assert [a["status_code"] for a in tried] == [500, 500, 500, 200]
    assert [a["attempt_number"] for a in tried] == [1, 2, 3, 4]
    assert [a["succeeded"] for a in tried] == [False, False, False, True]
    assert tried[0]["response_body"] == "answer 1: 500"
    assert tried[0]["response_headers"]["content-type"].startswith("text/plain")
    assert tried[0]["remote_address"] == "127.0.0.1"
    assert all(a["trigger"] == "scheduled" and a["duration_ms"] >= 0 for a in tried)


async def test_a_hanging_receiver_times_out_and_is_retried(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"

    async def hang_once(index: int, _request: Received) -> Response:
        if index == 0:
            return await receiver.hang()
        return Response(status_code=200)

    async with receiving(hang_once) as receiver, pool_of(database) as pool:
        subscription = hook("slow", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        async with dispatching(kafka, database, request_timeout_seconds=1.0):
            [delivery_id] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}")], [subscription]
            )
            [row] = await finished(pool, [delivery_id])
        tried = await attempts(pool, delivery_id)

    assert row["status"] == "succeeded"
    assert [a["status_code"] for a in tried] == [None, 200]
    assert tried[0]["error"] == "timed out after 1 s"
    assert 900 <= tried[0]["duration_ms"] < 5000
    assert len(set(receiver.ids())) == 1


async def test_a_redirect_is_recorded_as_a_failure_and_never_followed(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as target, pool_of(database) as pool:

        async def redirect(_index: int, _request: Received) -> Response:
            return Response(status_code=308, headers={"location": target.url})

        async with receiving(redirect) as receiver:
            subscription = hook("moved", receiver.url, new_webhook_secret())
            await publish_config(database, tenant, agent, webhooks_config(subscription))
            async with dispatching(kafka, database, retry_schedule_seconds=(0.0, 0.2)):
                [delivery_id] = await enqueue(
                    pool, [detected(tenant, agent, f"c-{unique}")], [subscription]
                )
                [row] = await finished(pool, [delivery_id])
            tried = await attempts(pool, delivery_id)

    assert row["status"] == "failed"
    assert [a["status_code"] for a in tried] == [308, 308]
    assert "redirects are not followed" in tried[0]["error"]
    assert "redirects are not followed" in row["last_error"]
    assert target.url in row["last_error"]
    assert tried[0]["response_headers"]["location"] == target.url
    assert len(receiver.requests) == 2
    assert target.requests == []


async def test_410_gone_disables_the_endpoint_and_tells_the_tenant(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving(answers(then=410)) as receiver, pool_of(database) as pool:
        subscription = hook("gone", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        async with dispatching(kafka, database):
            [first] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}", n=1)], [subscription]
            )
            await finished(pool, [first])
            [second] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}", n=2)], [subscription]
            )
            [row] = await finished(pool, [second])
        first_row = await delivery(pool, first)
        endpoint = await pool.fetchrow(
            "SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND webhook_id = 'gone'", tenant
        )
        notices = await pool.fetch(
            "SELECT * FROM webhook_notifications WHERE tenant_id = $1", tenant
        )

    assert len(receiver.requests) == 1
    assert first_row["status"] == "failed"
    assert first_row["attempt_count"] == 1
    assert first_row["last_status_code"] == 410
    assert endpoint is not None
    assert endpoint["disabled_at"] is not None
    assert endpoint["disabled_reason"] == "the receiver answered 410 Gone"
    assert [(n["kind"], n["url"]) for n in notices] == [("endpoint_disabled", receiver.url)]
    assert row["status"] == "failed"
    assert row["attempt_count"] == 0
    assert row["last_error"] == "endpoint disabled: the receiver answered 410 Gone"


async def test_an_endpoint_failing_too_long_is_disabled_and_the_tenant_told(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    metric = ("escalator_webhook_endpoints_disabled_total", {"reason": "failing"})
    before = REGISTRY.get_sample_value(*metric) or 0.0
    async with receiving(answers(then=500)) as receiver, pool_of(database) as pool:
        subscription = hook("flaky", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        async with dispatching(
            kafka, database, disable_after_seconds=0.5, retry_schedule_seconds=(0.0,) + (0.3,) * 9
        ):
            [delivery_id] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}")], [subscription]
            )
            [row] = await finished(pool, [delivery_id])
        [notice] = await pool.fetch(
            "SELECT * FROM webhook_notifications WHERE tenant_id = $1", tenant
        )
    after = REGISTRY.get_sample_value(*metric) or 0.0

    # First failure at t=0: the second attempt (0.3 s, later on a busy machine) or the third
    # (0.6 s) is past the 0.5 s allowed, long before the ten attempts of the schedule run out.
    assert row["status"] == "failed"
    assert row["attempt_count"] in (2, 3)
    assert len(receiver.requests) == row["attempt_count"]
    assert notice["kind"] == "endpoint_disabled"
    assert notice["reason"] == "every attempt failed for 0.5 seconds (last: HTTP 500)"
    assert after == before + 1


SSRF_TARGETS = {
    "loopback": "http://127.0.0.1:{port}/hooks",
    "loopback-name": "http://localhost:{port}/hooks",
    "loopback-v6": "http://[::1]:{port}/hooks",
    "mapped": "http://[::ffff:127.0.0.1]:{port}/hooks",
    "unspecified": "http://0.0.0.0:{port}/hooks",
    "private": "http://10.0.0.1/hooks",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "cgnat": "http://100.64.0.1/hooks",
    "link-local-v6": "http://[fe80::1]/hooks",
    "unique-local": "http://[fd00::1]/hooks",
}


async def test_internal_targets_are_refused_without_the_allow_list(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as receiver, pool_of(database) as pool:
        subscriptions = [
            hook(name, url.format(port=receiver.port), new_webhook_secret())
            for name, url in SSRF_TARGETS.items()
        ]
        await publish_config(database, tenant, agent, webhooks_config(*subscriptions))
        async with dispatching(kafka, database, allow_networks=()):
            ids = await enqueue(pool, [detected(tenant, agent, f"c-{unique}")], subscriptions)
            rows = await finished(pool, ids)
        tried = {row["webhook_id"]: await attempts(pool, row["id"]) for row in rows}

    assert receiver.requests == []
    for row in rows:
        assert row["status"] == "failed", row["webhook_id"]
        [attempt] = tried[row["webhook_id"]]
        assert attempt["refused"], row["webhook_id"]
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("refused: ")
    reasons = {name: attempts_[0]["error"] for name, attempts_ in tried.items()}
    assert "loopback" in reasons["loopback"]
    assert reasons["loopback-name"].startswith("refused: localhost: ")
    assert "link-local" in reasons["metadata"]
    assert "carrier-grade NAT" in reasons["cgnat"]
    assert "private" in reasons["private"]


async def test_the_connection_is_pinned_and_keeps_the_host_header(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as receiver, pool_of(database) as pool:
        subscription = hook(
            "named", f"http://localhost:{receiver.port}/hooks", new_webhook_secret()
        )
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        async with dispatching(kafka, database, allow_networks="127.0.0.1/32,::1/128"):
            [delivery_id] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}")], [subscription]
            )
            [row] = await finished(pool, [delivery_id])
        [attempt] = await attempts(pool, delivery_id)

    assert row["status"] == "succeeded"
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
    assert attempt["remote_address"] == "127.0.0.1"


async def test_a_slow_receiver_does_not_starve_the_others(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"

    async def stall(_index: int, _request: Received) -> Response:
        return await slow.hang()

    async with (
        receiving(stall) as slow,
        receiving() as fast,
        pool_of(database) as pool,
    ):
        stuck = hook("stuck", slow.url, new_webhook_secret())
        quick = hook("quick", fast.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(stuck, quick))
        events = [detected(tenant, agent, f"c-{unique}", n=n) for n in range(12)]
        async with dispatching(
            kafka,
            database,
            max_in_flight=4,
            max_in_flight_per_host=2,
            request_timeout_seconds=60.0,
        ):
            stuck_ids = await enqueue(pool, events, [stuck])
            quick_ids = await enqueue(pool, events, [quick])
            rows = await finished(pool, quick_ids)
            in_flight_slow = slow.active
            slow.release.set()
            await finished(pool, stuck_ids)

    assert all(row["status"] == "succeeded" for row in rows)
    assert sorted(fast.ids()) == sorted(str(e.event_id) for e in events)
    assert in_flight_slow == 2
    assert slow.most_active == 2
    assert fast.most_active <= 2
    assert len({UUID(i) for i in slow.ids()}) == 12


async def test_nothing_is_sent_for_a_subscription_switched_off_since(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as receiver, pool_of(database) as pool:
        subscription = hook("later-off", receiver.url, new_webhook_secret())
        await publish_config(
            database,
            tenant,
            agent,
            webhooks_config(subscription.model_copy(update={"enabled": False})),
        )
        async with dispatching(kafka, database):
            [delivery_id] = await enqueue(
                pool, [detected(tenant, agent, f"c-{unique}")], [subscription]
            )
            [row] = await finished(pool, [delivery_id])

    assert row["status"] == "failed"
    assert row["last_error"] == "the subscription is disabled in the configuration"
    assert receiver.requests == []


async def test_deliveries_wait_for_a_busy_dispatcher_without_loss(
    kafka: str, database: str, unique: str
) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as receiver, pool_of(database) as pool:
        subscription = hook("many", receiver.url, new_webhook_secret())
        await publish_config(database, tenant, agent, webhooks_config(subscription))
        events = [detected(tenant, agent, f"c-{unique}", n=n) for n in range(50)]
        async with dispatching(kafka, database, max_in_flight=3, max_in_flight_per_host=3):
            ids = await enqueue(pool, events, [subscription])
            rows = await finished(pool, ids)

    assert all(row["status"] == "succeeded" for row in rows)
    assert sorted(receiver.ids()) == sorted(str(e.event_id) for e in events)
    assert receiver.most_active <= 3


async def test_nothing_is_sent_unsigned(kafka: str, database: str, unique: str) -> None:
    tenant, agent = f"t-{unique}", f"a-{unique}"
    async with receiving() as receiver, pool_of(database) as pool:
        unsigned = hook("unsigned", receiver.url, new_webhook_secret()).model_copy(
            update={"secret": None}
        )
        broken = hook("broken", receiver.url, "whsec_AAAAAAAAAAAAAAAAA")
        await publish_config(database, tenant, agent, webhooks_config(unsigned, broken))
        async with dispatching(kafka, database):
            ids = await enqueue(pool, [detected(tenant, agent, f"c-{unique}")], [unsigned, broken])
            rows = await finished(pool, ids)
        tried = [await attempts(pool, delivery_id) for delivery_id in ids]

    assert receiver.requests == []
    assert [row["status"] for row in rows] == ["failed", "failed"]
    assert [len(t) for t in tried] == [1, 1]
    assert tried[0][0]["error"] == "refused: cannot sign: no secret to sign with"
    assert tried[1][0]["error"].startswith("refused: cannot sign: ")
    assert all(t[0]["refused"] for t in tried)
