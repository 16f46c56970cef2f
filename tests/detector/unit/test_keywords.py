from datetime import UTC, datetime

import pytest

from detector.cues import asks_for_clarification, keyword_category
from detector.keywords import KeywordMatcher
from detector.policy import keywords_in
from escalator_schemas.chat import ChatMessage
from escalator_schemas.config import DEFAULT_KEYWORDS, EscalationConfig


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
    config = EscalationConfig(enabled=True, escalation_keywords=[])
    assert keywords_in(_message("refund please"), config) == ()


def test_keywords_are_only_read_in_customer_messages() -> None:
    config = EscalationConfig(enabled=True)
    assert keywords_in(_message("I can help with your refund", role="ai"), config) == ()
    assert keywords_in(_message("a human agent will call", role="human"), config) == ()
    assert keywords_in(_message("refund!"), config) == ("refund",)


@pytest.mark.parametrize(
    ("keyword", "category"),
    [
        ("lawyer", "legal"),
        ("sue", "legal"),
        ("cancel my subscription", "cancellation"),
        ("refund", "refund"),
        ("remboursement", "refund"),
        ("reembolso", "refund"),
        ("complaint", "complaint"),
        ("réclamation", "complaint"),
        ("talk to a human", "human_request"),
        ("manager", "human_request"),
        ("falar com um atendente", "human_request"),
    ],
)
def test_keyword_categories(keyword: str, category: str) -> None:
    assert keyword_category(keyword) == category


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Could you clarify which order you mean?", True),
        ("Sorry, I didn't understand. Could you rephrase?", True),
        ("¿Podrías aclarar a qué pedido te refieres?", True),
        ("Könnten Sie das präzisieren?", True),
        ("Pourriez-vous préciser votre demande ?", True),
        ("Não entendi, poderia explicar melhor?", True),
        ("Your order ships tomorrow.", False),
        ("Happy to clarify: the warranty is 2 years.", False),
    ],
)
def test_clarification_requests(text: str, asks: bool) -> None:
    assert asks_for_clarification(text) is asks
