"""50 supervisors claim one escalation at the same moment, over HTTP, through two queue-api
replicas (separate processes sharing the database): exactly one wins, 49 get 409, and one
``escalation.claimed`` event leaves through the outbox."""

import asyncio
import json
import sys
from collections import Counter
from contextlib import AsyncExitStack

import httpx
import pytest

from escalator_schemas import topics
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.chaos.counting import pending, report
from tests.chaos.pipeline import Lag, pipeline
from tests.notifier.smtp import SmtpServer
from tests.queue_api.support import routed
from tests.stack import eventually, producer, token

pytestmark = pytest.mark.integration

CLAIMERS = 50


async def test_fifty_concurrent_claims_on_two_replicas_have_one_winner(
    chaos_kafka: str,
    chaos_database: str,
    groups: str,
    smtp: SmtpServer,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = f"t-{unique}"
    supervisors = [f"s{i}" for i in range(CLAIMERS)]
    event = routed(tenant, supervisors=supervisors)
    settings = QueueApiSettings()  # the replicas' own settings: the same signing secret
    async with (
        pipeline(chaos_kafka, chaos_database, groups, smtp) as running,
        Lag(chaos_kafka, groups) as lag,
        producer(chaos_kafka) as router,
        AsyncExitStack() as stack,
    ):
        replicas = [running.process("queue-api") for _ in range(2)]
        for number, replica in enumerate(replicas):
            running.processes[f"queue-api-{number}"] = replica
        await asyncio.gather(*(replica.start(within=120) for replica in replicas))
        lifecycle_from = await lag.ends([topics.ESCALATIONS_LIFECYCLE])
        await router.send_and_wait(
            topics.ESCALATIONS_ROUTED,
            event.model_dump_json().encode(),
            key=event.conversation_id.encode(),
        )
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{replicas[i % 2].port}",
                    headers={
                        "Authorization": "Bearer "
                        + token(settings, supervisor, tenant, Role.SUPERVISOR)
                    },
                    timeout=60,
                )
            )
            for i, supervisor in enumerate(supervisors)
        ]
        path = f"/api/v1/escalations/{event.escalation_id}"

        async def queued() -> bool:
            answers = [(await client.get(path)).status_code for client in clients[:2]]
            return answers == [200, 200]  # through both replicas

        await eventually(queued, within=60)
        responses = await asyncio.gather(*(client.post(path + "/claim") for client in clients))
        winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
        detail = (await clients[winner].get(path)).json()

        async def relayed() -> list[dict[str, object]] | None:
            # Once the outbox is empty nothing more can be published about the claim.
            if (await pending(chaos_database, tenant))["outbox"]:
                return None
            records = await lag.read(lifecycle_from)
            claimed = [
                json.loads(r.value)
                for r in records
                if r.value and str(event.escalation_id).encode() in r.value
            ]
            return claimed or None

        lifecycle = await eventually(relayed, within=30)

    statuses = Counter(response.status_code for response in responses)
    by_replica = Counter(
        (replicas[i % 2].port, response.status_code) for i, response in enumerate(responses)
    )
    with capsys.disabled():
        sys.stdout.write(
            report(
                f"{CLAIMERS} concurrent claims of one escalation over HTTP, two replicas",
                {
                    "answers (status: count)": dict(statuses),
                    "answers per replica (port, status)": dict(by_replica),
                    "winner": supervisors[winner],
                    "claims in the audit timeline": sum(
                        1 for entry in detail["audit"] if entry["action"] == "claimed"
                    ),
                    "escalation.claimed events on the lifecycle topic": len(lifecycle),
                },
            )
        )
    assert statuses == {200: 1, 409: CLAIMERS - 1}
    assert responses[winner].json()["assigned_to"] == supervisors[winner]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.headers["content-type"] == "application/problem+json"
    assert detail["status"] == "in_progress"
    assert [e["actor"] for e in detail["audit"] if e["action"] == "claimed"] == [
        supervisors[winner]
    ]
    assert [e["event_type"] for e in lifecycle] == ["escalation.claimed"]
    assert lifecycle[0]["supervisor_id"] == supervisors[winner]
