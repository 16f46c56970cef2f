"""The known week of the tuning report's tests (API and page): six escalations of one agent in
a 3-day period (and some outside it), fourteen conversations, one marked missed. Each figure
the tests assert is worked out in the comments of test_tuning_report.py."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from escalator_schemas.chat import Environment
from escalator_schemas.classification import Area, Topic, TriggerKind, Urgency
from escalator_schemas.config import Supervisor
from queue_api.auth import Role
from queue_api.settings import QueueApiSettings
from tests.queue_api.tuning_support import END, START, Conversation, Escalation, at, play, record
from tests.stack import api_client, demo_config, publish_config, token

K = TriggerKind


@dataclass
class Week:
    tenant: str
    agent: str
    ids: list[str]  # escalation ids, E1..E6
    conversations: dict[str, str]  # c1.. -> conversation id


SUPERVISORS = [
    Supervisor(id="alice", name="Alice Doe", email="alice@example.com"),
    Supervisor(id="bob", name="Bob Roe", email="bob@example.com", categories=["refund"]),
    Supervisor(id="carol", name="Carol Poe", email="carol@example.com", categories=["legal"]),
    Supervisor(id="dave", name="Dave Loe", email="dave@example.com", active=False),
]


async def known_week(
    app: FastAPI, settings: QueueApiSettings, database: str, tenant: str, agent: str
) -> Week:
    """Six escalations in the period (and some outside it), fourteen conversations."""
    await publish_config(database, tenant, agent, demo_config(supervisors=SUPERVISORS))
    c = {f"c{n}": f"conv-{n}" for n in range(1, 16)}
    escalations = [
        # E1, E2: day 0, both false escalations
        Escalation(at(0, 10), (K.KEYWORD, K.SENTIMENT), Urgency.HIGH, "refund", Topic.REFUND,
                   Area.ORDER, claims=(("alice", 60),), completed_after=600,
                   ai_could_have_handled=True, conversation=c["c1"]),
        Escalation(at(0, 12), (K.CONFIDENCE,), Urgency.MEDIUM, "low_confidence",
                   Topic.PRODUCT, Area.PRODUCT, claims=(("alice", 120),), completed_after=1200,
                   ai_could_have_handled=True, conversation=c["c2"]),
        # E3, E4: day 1; E4 matched nobody, and its conversation was not recorded
        Escalation(at(1, 9), (K.SENTIMENT, K.KEYWORD), Urgency.CRITICAL, "complaint",
                   Topic.COMPLAINT, Area.ORDER, claims=(("alice", 180),), completed_after=300,
                   conversation=c["c3"]),
        Escalation(at(1, 15), (K.TURN_LIMIT,), Urgency.LOW, "turn_limit", supervisors=(),
                   claims=(("bob", 240),), conversation=c["c4"]),
        # E5: claimed at +600 s, released, claimed again at +900 s; E6 never claimed
        Escalation(at(2, 8), (K.KEYWORD,), Urgency.HIGH, "refund", Topic.REFUND, Area.PAYMENT,
                   claims=(("alice", 600), ("alice", 900)), conversation=c["c5"]),
        Escalation(at(2, 10), (K.CONDITION,), Urgency.HIGH, "condition:angry-customer",
                   conversation=c["c6"]),
        # Not of this report: before and at the end of the period, another agent, preview
        Escalation(START - timedelta(days=2), (K.KEYWORD,), Urgency.HIGH, "refund",
                   conversation=c["c14"]),
        Escalation(END, (K.KEYWORD,), Urgency.HIGH, "refund"),
        Escalation(at(1, 1), (K.KEYWORD,), Urgency.HIGH, "refund", agent="another-agent"),
        Escalation(at(1, 1), (K.KEYWORD,), Urgency.HIGH, "refund",
                   environment=Environment.PREVIEW),
    ]  # fmt: skip
    async with (
        api_client(app, token(settings, "alice", tenant)) as alice,
        api_client(app, token(settings, "bob", tenant)) as bob,
    ):
        events = await play(app, {"alice": alice, "bob": bob}, tenant, agent, escalations)

    def conversation(
        name: str, first: Any, last: Any, peak: float | None, says: str = ""
    ) -> Conversation:
        return Conversation(c[name], first, last, peak, says or f"Words of {name}")

    await record(
        app,
        tenant,
        agent,
        [
            conversation("c1", at(0, 9, 58), at(0, 10), 0.9),
            conversation("c2", at(0, 11, 50), at(0, 12), 0.2),
            conversation("c7", at(0, 13), at(0, 14), 0.1),
            conversation("c8", at(0, 15), at(0, 15, 5), 0.3),
            conversation("c13", START - timedelta(days=3), at(0, 1), 0.1),  # began before
            conversation("c14", START - timedelta(days=2), at(0, 2), 0.9),  # escalated before
            conversation("c3", at(1, 8, 55), at(1, 9), 0.95),
            conversation("c9", at(1, 10), at(1, 10, 30), 0.8, "This is ridiculous, third time!"),
            conversation("c10", at(1, 11), at(1, 11, 20), 0.2, "I will never order again."),
            conversation("c5", at(2, 7, 50), at(2, 8), 0.6),
            conversation("c11", at(2, 9), at(2, 9, 10), None),  # not scored
            conversation("c12", at(2, 11), at(2, 11, 30), 0.4, "Useless answers."),  # = watch
            conversation("c15", START - timedelta(days=5), START - timedelta(days=4), 0.95),
        ],
    )
    async with api_client(app, token(settings, "bob", tenant, Role.SUPERVISOR)) as bob:
        marked = await bob.put(
            f"/api/v1/agents/{agent}/conversations/{c['c10']}/missed-escalation",
            json={"note": "  Customer left angry.  "},
        )
    assert marked.status_code == 200, marked.text
    return Week(tenant, agent, [str(e.escalation_id) for e in events[:6]], c)
