"""The offline summary in five languages, the fallback for others, and the external LLM with
its fallback."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from escalator_schemas.chat import Role
from escalator_schemas.events import TranscriptMessage
from queue_api.summary import (
    LlmEndpoint,
    ai_attempts,
    customer_request,
    message_sentiment,
    offline_text,
    sentiment_over,
    summarize,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REASON = "The customer asked for a human."


def conversation(*lines: tuple[Role, str]) -> list[TranscriptMessage]:
    return [
        TranscriptMessage(
            message_id=f"m{n}", role=role, text=text, sent_at=START + timedelta(seconds=n)
        )
        for n, (role, text) in enumerate(lines)
    ]


ANGRY = conversation(
    (Role.CUSTOMER, "Hi, where is my order 1234?"),
    (Role.AI, "Your order shipped yesterday. It should arrive on Friday."),
    (Role.CUSTOMER, "It was due last week. I want a refund."),
    (Role.AI, "I understand. Let me check the refund policy for you."),
    (Role.CUSTOMER, "This is UNACCEPTABLE!! Worst service ever."),
)


def test_the_customer_request_is_the_sentence_that_asks_for_something() -> None:
    assert customer_request(ANGRY) == "I want a refund."
    assert customer_request(conversation((Role.AI, "Hello!"))) is None


def test_the_ais_attempts_are_the_first_sentence_of_each_reply() -> None:
    assert ai_attempts(ANGRY) == ["Your order shipped yesterday.", "I understand."]


def test_sentiment_reads_anger_and_its_trend() -> None:
    assert message_sentiment("Thanks, that is great") > 0
    assert message_sentiment("This is UNACCEPTABLE!! Worst service ever.") < -0.5
    assert message_sentiment("Where is my parcel") == 0
    mood = sentiment_over(ANGRY)
    assert (mood.overall, mood.trend) == ("negative", "worsening")
    calmer = conversation((Role.CUSTOMER, "This is terrible."), (Role.CUSTOMER, "Thanks, great!"))
    assert sentiment_over(calmer).trend == "improving"


@pytest.mark.parametrize(
    ("tag", "language", "opening", "sentiment"),
    [
        ("en", "en", "Escalated because:", "Customer sentiment: negative, worsening"),
        ("es-ES", "es", "Escalado porque:", "Sentimiento del cliente: negativo, empeorando"),
        ("de", "de", "Eskaliert, weil:", "Stimmung des Kunden: negativ, im Gesprächsverlauf"),
        ("fr-CA", "fr", "Escaladé car :", "Sentiment du client : négatif, en dégradation"),
        ("pt-BR", "pt", "Escalado porque:", "Sentimento do cliente: negativo, piorando"),
    ],
)
def test_offline_summary_in_each_template_language(
    tag: str, language: str, opening: str, sentiment: str
) -> None:
    text, written_in = offline_text(REASON, ANGRY, tag)
    assert written_in == language
    assert text.startswith(f"{opening} {REASON.rstrip('.')}.")
    assert "I want a refund." in text
    assert "I understand." in text
    assert sentiment in text
    assert "2" in text


def test_other_languages_fall_back_to_english_and_say_so() -> None:
    text, written_in = offline_text(REASON, ANGRY, "ja")
    assert written_in == "en"
    assert text.startswith("Escalated because:")
    assert text.endswith("(Written in English: 'ja' is not available for offline summaries.)")


def test_a_conversation_without_ai_replies_says_so() -> None:
    text, _ = offline_text(REASON, conversation((Role.CUSTOMER, "Get me a human now")), "en")
    assert "The AI had not replied yet." in text


ENDPOINT = LlmEndpoint("http://llm.test/v1", "tiny", SecretStr("sk-test"), 5.0)


async def test_the_external_llm_answers_in_the_requested_language() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = {"choices": [{"message": {"role": "assistant", "content": " Resumen breve. "}}]}
        return httpx.Response(200, json=reply)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        result = await summarize(uuid.uuid4(), REASON, ANGRY, "es", client, ENDPOINT)
    assert (result.method, result.language, result.text) == ("llm", "es", "Resumen breve.")
    assert str(seen[0].url) == "http://llm.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-test"
    sent = json.loads(seen[0].content)
    assert sent["model"] == "tiny"
    assert "'es'" in sent["messages"][0]["content"]
    assert "UNACCEPTABLE" in sent["messages"][1]["content"]


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: httpx.Response(500, json={"error": "overloaded"}),
        lambda request: httpx.Response(200, json={"choices": []}),
        lambda request: httpx.Response(200, json={"choices": [{"message": {"content": ""}}]}),
        lambda request: (_ for _ in ()).throw(httpx.ConnectTimeout("timed out")),
    ],
)
async def test_any_llm_failure_falls_back_to_the_offline_summary(failure: object) -> None:
    assert callable(failure)
    async with httpx.AsyncClient(transport=httpx.MockTransport(failure)) as client:
        result = await summarize(uuid.uuid4(), REASON, ANGRY, "de", client, ENDPOINT)
    assert (result.method, result.language) == ("offline", "de")
    assert result.text.startswith("Eskaliert, weil:")
