"""The published JSON Schema / AsyncAPI files match the models, and the models keep the
contract's rules."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4, uuid5

import pytest
from pydantic import ValidationError

from escalator_schemas import publish, topics
from escalator_schemas.chat import ChatMessage
from escalator_schemas.classification import Severity, Urgency
from escalator_schemas.config import EscalationConfig, enablement_violations, slugify
from escalator_schemas.events import (
    EscalationClaimed,
    EscalationDetected,
    lifecycle_event_adapter,
)
from escalator_schemas.ids import ESCALATOR_NAMESPACE, escalation_id_for, event_id_for


def test_published_files_match_the_models() -> None:
    for relative, text in publish.generated_files().items():
        on_disk = (publish.SCHEMAS_DIR / relative).read_text(encoding="utf-8")
        assert on_disk == text, f"{relative} drifted: run `make schemas`"


def test_asyncapi_names_every_contract_topic() -> None:
    document = publish.asyncapi_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {spec.name for spec in topics.CONTRACT_TOPICS}
    assert "EscalationDetected" in document["components"]["schemas"]


def _chat(**overrides: object) -> dict[str, object]:
    return {
        "message_id": "m1",
        "conversation_id": "c1",
        "tenant_id": "t1",
        "agent_id": "a1",
        "role": "customer",
        "text": "hello",
        "sent_at": "2026-11-24T10:00:00Z",
    } | overrides


def test_chat_message_defaults_to_published() -> None:
    message = ChatMessage.model_validate(_chat())
    assert message.environment == "published"
    assert message.metadata == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message_id", ""),
        ("message_id", "x" * 129),
        ("tenant_id", "x" * 65),
        ("text", "x" * 16_001),
        ("ai_confidence", 1.01),
        ("ai_confidence", -0.1),
        ("role", "robot"),
        ("environment", "staging"),
        ("sent_at", "2026-11-24T10:00:00"),  # no time zone
    ],
)
def test_chat_message_limits(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        ChatMessage.model_validate(_chat(**{field: value}))
    assert error.value.errors()[0]["loc"][0] == field


def test_text_at_the_limit_is_accepted() -> None:
    assert len(ChatMessage.model_validate(_chat(text="x" * 16_000)).text) == 16_000


def test_events_are_frozen_and_carry_the_envelope() -> None:
    event = EscalationClaimed(
        event_id=uuid4(),
        tenant_id="t",
        agent_id="a",
        environment="preview",
        escalation_id=uuid4(),
        conversation_id="c",
        supervisor_id="alice",
    )
    document = json.loads(event.model_dump_json())
    assert {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "tenant_id",
        "agent_id",
        "environment",
        "escalation_id",
        "conversation_id",
    } <= set(document)
    assert document["event_type"] == "escalation.claimed"
    assert document["schema_version"] == 1
    assert event.occurred_at.tzinfo is not None
    with pytest.raises(ValidationError):
        event.supervisor_id = "mallory"  # type: ignore[misc]


def test_lifecycle_union_is_discriminated_on_event_type() -> None:
    base = {
        "event_id": str(uuid4()),
        "tenant_id": "t",
        "agent_id": "a",
        "environment": "published",
        "escalation_id": str(uuid4()),
        "conversation_id": "c",
    }
    completed = lifecycle_event_adapter.validate_python(
        base | {"event_type": "escalation.completed", "supervisor_id": "s", "resolution_note": "ok"}
    )
    assert type(completed).__name__ == "EscalationCompleted"
    with pytest.raises(ValidationError):
        lifecycle_event_adapter.validate_python(base | {"event_type": "escalation.exploded"})


def test_escalation_ids_are_deterministic() -> None:
    first = escalation_id_for("t", "a", "published", "c", "m")
    assert first == escalation_id_for("t", "a", "published", "c", "m")
    assert first != escalation_id_for("t", "a", "preview", "c", "m")
    assert event_id_for(first, "escalation.detected") != event_id_for(first, "escalation.routed")


def test_escalation_ids_are_the_rfc_4122_name_based_ids_they_always_were() -> None:
    """Ids published before stay the ids of the same escalations and events."""
    first = escalation_id_for("t", "a", "published", "c", "m")
    assert first == UUID("7a64c682-5005-5f1c-a271-14aaf3874ec6")
    assert event_id_for(first, "chat.handoff", "handoff") == UUID(
        "8fd8b039-e2a0-5706-9208-96222064a6dd"
    )
    for conversation in ("c", "çà/ü", "会话-1", "x" * 128, ""):
        made = escalation_id_for("tenant", "agent", "preview", conversation, "m-7")
        name = f"escalation/tenant/agent/preview/{conversation}/m-7"
        assert made == uuid5(ESCALATOR_NAMESPACE, name)
        assert made.version == 5
        assert event_id_for(made, "escalation.detected") == uuid5(
            ESCALATOR_NAMESPACE, f"event/{made}/escalation.detected/"
        )


def test_severity_follows_urgency() -> None:
    assert Urgency.CRITICAL.severity is Severity.CRITICAL
    assert Urgency.HIGH.severity is Severity.CRITICAL
    assert Urgency.MEDIUM.severity is Severity.WARNING
    assert Urgency.LOW.severity is Severity.INFORMATIONAL


def test_config_defaults_follow_the_seed() -> None:
    config = EscalationConfig()
    assert config.enabled is False
    assert len(config.escalation_keywords) == 9
    assert "cancel my subscription" in config.escalation_keywords
    assert config.max_ai_turns_before_escalation == 10
    assert config.threshold == 0.6
    assert EscalationConfig(plan_tier="starter").threshold == 0.7
    assert EscalationConfig(plan_tier="enterprise").threshold == 0.5
    assert EscalationConfig(escalation_threshold=0.35).threshold == 0.35


def test_config_limits() -> None:
    with pytest.raises(ValidationError) as error:
        EscalationConfig(
            escalation_keywords=["x"] * 31,
            max_ai_turns_before_escalation=51,
            escalation_threshold=1.5,
            escalation_response="   ",
        )
    failed = {e["loc"][0] for e in error.value.errors()}
    assert failed == {
        "escalation_keywords",
        "max_ai_turns_before_escalation",
        "escalation_threshold",
        "escalation_response",
    }
    with pytest.raises(ValidationError):
        EscalationConfig(escalation_keywords=["x" * 51])


def test_enabling_needs_the_seed_checklist() -> None:
    assert enablement_violations(EscalationConfig()) == []
    problems = dict(enablement_violations(EscalationConfig(enabled=True)))
    assert set(problems) == {("trigger_conditions",), ("supervisors",)}


def test_condition_category_slug() -> None:
    assert slugify("Angry Customer Escalation") == "angry-customer-escalation"
    assert slugify("¡Reembolso urgente!") == "reembolso-urgente"


def test_detected_requires_at_least_one_trigger() -> None:
    with pytest.raises(ValidationError):
        EscalationDetected(
            event_id=uuid4(),
            tenant_id="t",
            agent_id="a",
            environment="published",
            escalation_id=uuid4(),
            conversation_id="c",
            trigger={"kind": "keyword", "detail": "x", "score": 1.0},
            triggers=[],
            reason="r",
            urgency="high",
            severity="critical",
            category="refund",
            topic="refund",
            area="order",
            trigger_message_id="m",
            turn_count=1,
            occurred_at=datetime.now(UTC),
        )


def test_nul_characters_are_a_violation_not_a_server_error() -> None:
    from escalator_schemas.config import document_violations

    config, violations = document_violations(
        {
            "escalation_response": "hi\x00",
            "trigger_conditions": [{"label": "a\x00", "description": "d"}],
        }
    )
    assert config is None
    assert {v.loc for v in violations if v.type == "string_nul"} == {
        ("escalation_response",),
        ("trigger_conditions", 0, "label"),
    }
