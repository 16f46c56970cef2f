"""The router's matching rules, table-driven."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from escalator_schemas.config import Supervisor
from escalator_schemas.events import EscalationDetected
from router.service import match_reasons, matching_supervisors, routed_event


def _escalation(
    category: str = "refund", topic: str = "refund", area: str = "payment"
) -> EscalationDetected:
    trigger = {"kind": "keyword", "detail": "keyword refund", "score": 1.0}
    return EscalationDetected(
        event_id=uuid4(),
        tenant_id="t",
        agent_id="a",
        environment="published",
        escalation_id=uuid4(),
        conversation_id="c",
        trigger=trigger,
        triggers=[trigger],
        reason="The customer asked for a refund.",
        urgency="high",
        severity="critical",
        category=category,
        topic=topic,
        area=area,
        trigger_message_id="m",
        turn_count=1,
        occurred_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("scopes", "matches", "reasons"),
    [
        ({}, True, ["any category", "any topic", "any area"]),
        ({"topics": ["refund"]}, True, ["any category", "topic refund", "any area"]),
        ({"topics": ["billing"]}, False, None),
        (
            {"topics": ["billing", "refund"], "areas": ["payment"]},
            True,
            ["any category", "topic refund", "area payment"],
        ),
        ({"topics": ["refund"], "areas": ["delivery"]}, False, None),
        ({"categories": ["refund"]}, True, ["category refund", "any topic", "any area"]),
        ({"categories": ["legal"]}, False, None),
        ({"active": False}, False, None),
    ],
)
def test_scope_matching(
    scopes: dict[str, object], matches: bool, reasons: list[str] | None
) -> None:
    supervisor = Supervisor(id="s", name="S", email="s@example.com", **scopes)
    assert match_reasons(supervisor, _escalation()) == reasons
    assert bool(matching_supervisors([supervisor], _escalation())) is matches


def test_no_match_is_unrouted_but_still_routed() -> None:
    detected = _escalation()
    routed = routed_event(detected, [])
    assert routed.unrouted is True
    assert routed.escalation_id == detected.escalation_id
    assert routed.reason == detected.reason


def test_routing_is_deterministic_for_a_redelivered_detection() -> None:
    detected = _escalation()
    supervisors = [Supervisor(id="s", name="S", email="s@example.com")]
    first = routed_event(detected, matching_supervisors(supervisors, detected))
    again = routed_event(detected, matching_supervisors(supervisors, detected))
    assert first == again
