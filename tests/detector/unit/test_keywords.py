from datetime import UTC, datetime

import pytest

from detector.keywords import KeywordMatcher
from detector.service import decide
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import DEFAULT_KEYWORDS, AgentConfigVersion, EscalationConfig


def _config(**overrides: object) -> AgentConfigVersion:
    return AgentConfigVersion(
        tenant_id="t", agent_id="a", version=1, config=EscalationConfig(enabled=True, **overrides)
    )


def _message(text: str, role: str = "customer") -> ChatMessage:
    return ChatMessage(
        message_id="m",
        conversation_id="c",
        tenant_id="t",
        agent_id="a",
        role=role,
        text=text,
        sent_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("I want to SPEAK TO A PERSON", ["speak to a person"]),
        ("where is my refunded amount", ["refund"]),  # substring, as the seed says
        ("Get me your Manager and a lawyer", ["manager", "lawyer"]),
        ("nothing to see", []),
        ("", []),
    ],
)
def test_keywords_are_case_insensitive_substrings(text: str, found: list[str]) -> None:
    assert KeywordMatcher(DEFAULT_KEYWORDS).find(text) == found


def test_non_ascii_keywords_match_case_insensitively() -> None:
    assert KeywordMatcher(("Reembolso", "STRAẞE")).find("quiero un REEMBOLSO ya") == ["Reembolso"]


def test_thousands_of_keywords_in_one_pass() -> None:
    keywords = tuple(f"phrase {i:04d} ends" for i in range(3000))
    assert KeywordMatcher(keywords).find("... PHRASE 2999 ENDS ...") == ["phrase 2999 ends"]


def test_empty_keyword_list_never_matches() -> None:
    assert decide(_message("refund please"), _config(escalation_keywords=[])) is None


def test_keyword_in_an_ai_message_does_not_escalate() -> None:
    assert decide(_message("I can help with your refund", role="ai"), _config()) is None


def test_disabled_config_never_escalates() -> None:
    config = AgentConfigVersion(tenant_id="t", agent_id="a", version=1, config=EscalationConfig())
    assert decide(_message("talk to a human"), config) is None


def test_keyword_decision_explains_itself() -> None:
    decision = decide(_message("Please cancel my subscription, effective now"), _config())
    assert decision is not None
    assert decision.trigger.kind == "keyword"
    assert decision.trigger.score == 1.0
    assert decision.category == "cancellation"
    assert decision.urgency == "high"
    assert "cancel my subscription" in decision.reason


def test_lawyer_is_a_critical_legal_escalation() -> None:
    decision = decide(_message("my lawyer will hear about this"), _config())
    assert decision is not None
    assert (decision.category, decision.urgency) == ("legal", "critical")
