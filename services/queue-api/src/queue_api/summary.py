"""``POST /escalations/{id}/summary``: a concise recap in the agent's ``summary_language``.

Offline by default (nothing to download): the customer's key request and the AI's replies are
picked from the transcript, the sentiment comes from a small multilingual lexicon, and template
sentences are translated for en, es, de, fr and pt; other languages get English, and say so.
When an OpenAI-compatible endpoint is configured its answer is used instead, falling back to the
offline summary on any failure.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import httpx
import structlog
from pydantic import SecretStr

from escalator_schemas.chat import Role
from escalator_schemas.events import TranscriptMessage
from queue_api.models import EscalationSummaryText, Sentiment

log = structlog.get_logger(__name__)

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[\w']+", re.UNICODE)

_NEGATIVE = frozenset(
    """
    angry annoyed awful bad broken cancel complaint disappointed disgusting frustrated furious
    hate horrible lawyer ridiculous scam terrible unacceptable upset useless worst wrong never
    sue fraud rubbish waste again unhappy poor failed fail
    enfadado enojado horrible terrible pésimo inaceptable estafa abogado nunca roto molesto
    wütend schrecklich furchtbar inakzeptabel betrug anwalt kaputt niemals enttäuscht ärgerlich
    énervé furieux horrible inacceptable arnaque avocat jamais cassé déçu nul
    irritado péssimo inaceitável golpe advogado nunca quebrado decepcionado
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_POSITIVE = frozenset(
    """
    thanks thank great good perfect happy appreciate helpful excellent love resolved works
    gracias genial perfecto bueno excelente feliz resuelto
    danke super perfekt gut toll hilfreich gelöst
    merci parfait bien génial excellent content résolu
    obrigado obrigada ótimo perfeito bom excelente feliz resolvido
    """.split()  # noqa: SIM905
)
_REQUEST_CUES = (
    "i want", "i need", "i'd like", "i would like", "please", "can you", "could you",
    "refund", "cancel", "human", "person", "manager", "supervisor", "speak to", "talk to",
    "quiero", "necesito", "por favor", "reembolso", "ich will", "ich möchte", "bitte",
    "erstattung", "je veux", "s'il vous plaît", "remboursement", "eu quero", "preciso",
    "por favor", "reembolso",
)  # fmt: skip

Language = Literal["en", "es", "de", "fr", "pt"]

_TEMPLATES: dict[Language, dict[str, str]] = {
    "en": {
        "reason": "Escalated because: {reason}",
        "wants": "The customer wants: “{request}”",
        "no_request": "The customer's request is not stated explicitly.",
        "tried": "The AI already replied {n} time(s); latest: “{last}”",
        "not_tried": "The AI had not replied yet.",
        "sentiment": "Customer sentiment: {overall}, {trend} over the conversation.",
        "negative": "negative", "neutral": "neutral", "positive": "positive",
        "worsening": "worsening", "steady": "steady", "improving": "improving",
        "fallback": "(Written in English: '{language}' is not available for offline summaries.)",
    },
    "es": {
        "reason": "Escalado porque: {reason}",
        "wants": "El cliente quiere: “{request}”",
        "no_request": "El cliente no formula su petición de forma explícita.",
        "tried": "La IA ya respondió {n} vez/veces; la última: “{last}”",
        "not_tried": "La IA aún no había respondido.",
        "sentiment": "Sentimiento del cliente: {overall}, {trend} a lo largo de la conversación.",
        "negative": "negativo", "neutral": "neutral", "positive": "positivo",
        "worsening": "empeorando", "steady": "estable", "improving": "mejorando",
    },
    "de": {
        "reason": "Eskaliert, weil: {reason}",
        "wants": "Der Kunde möchte: „{request}“",
        "no_request": "Der Kunde nennt sein Anliegen nicht ausdrücklich.",
        "tried": "Die KI hat bereits {n}-mal geantwortet; zuletzt: „{last}“",
        "not_tried": "Die KI hatte noch nicht geantwortet.",
        "sentiment": "Stimmung des Kunden: {overall}, im Gesprächsverlauf {trend}.",
        "negative": "negativ", "neutral": "neutral", "positive": "positiv",
        "worsening": "verschlechternd", "steady": "gleichbleibend", "improving": "verbessernd",
    },
    "fr": {
        "reason": "Escaladé car : {reason}",
        "wants": "Le client souhaite : « {request} »",
        "no_request": "Le client ne formule pas explicitement sa demande.",
        "tried": "L'IA a déjà répondu {n} fois ; dernière réponse : « {last} »",
        "not_tried": "L'IA n'avait pas encore répondu.",
        "sentiment": "Sentiment du client : {overall}, {trend} au fil de la conversation.",
        "negative": "négatif", "neutral": "neutre", "positive": "positif",
        "worsening": "en dégradation", "steady": "stable", "improving": "en amélioration",
    },
    "pt": {
        "reason": "Escalado porque: {reason}",
        "wants": "O cliente quer: “{request}”",
        "no_request": "O cliente não explicita o pedido.",
        "tried": "A IA já respondeu {n} vez(es); a última: “{last}”",
        "not_tried": "A IA ainda não tinha respondido.",
        "sentiment": "Sentimento do cliente: {overall}, {trend} ao longo da conversa.",
        "negative": "negativo", "neutral": "neutro", "positive": "positivo",
        "worsening": "piorando", "steady": "estável", "improving": "melhorando",
    },
}  # fmt: skip


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def message_sentiment(text: str) -> float:
    """-1.0 (angry) .. 1.0 (happy), from the lexicon, with shouting counting against."""
    words = [word.lower() for word in _WORD.findall(text)]
    negative = sum(word in _NEGATIVE for word in words)
    positive = sum(word in _POSITIVE for word in words)
    shouting = text.count("!") >= 2 or any(w.isupper() and len(w) > 3 for w in _WORD.findall(text))
    if shouting and negative:
        negative += 1
    return round((positive - negative) / (positive + negative + 1), 3)


def sentiment_over(messages: Sequence[TranscriptMessage]) -> Sentiment:
    scores = [message_sentiment(m.text) for m in messages if m.role is Role.CUSTOMER] or [0.0]
    mean = sum(scores) / len(scores)
    change = scores[-1] - scores[0]
    return Sentiment(
        first=scores[0],
        last=scores[-1],
        overall="negative" if mean < -0.15 else "positive" if mean > 0.15 else "neutral",
        trend="worsening" if change < -0.2 else "improving" if change > 0.2 else "steady",
    )


def customer_request(messages: Sequence[TranscriptMessage]) -> str | None:
    """The customer's sentence that most reads like a request; the latest one on a tie."""
    best: tuple[int, int] | None = None
    chosen: str | None = None
    order = 0
    for message in messages:
        if message.role is not Role.CUSTOMER:
            continue
        for sentence in _SENTENCE.split(message.text):
            if not sentence.strip():
                continue
            lowered = sentence.lower()
            score = sum(cue in lowered for cue in _REQUEST_CUES) * 2 + ("?" in sentence)
            order += 1
            if best is None or (score, order) >= best:
                best, chosen = (score, order), sentence
    return _clip(chosen, 240) if chosen else None


def ai_attempts(messages: Sequence[TranscriptMessage], limit: int = 3) -> list[str]:
    """The first sentence of each of the AI's latest replies."""
    replies = [m.text for m in messages if m.role is Role.AI and m.text.strip()]
    return [_clip(_SENTENCE.split(text.strip())[0], 160) for text in replies[-limit:]]


def language_of(tag: str) -> Language | None:
    primary = tag.split("-", maxsplit=1)[0].lower()
    return primary if primary in _TEMPLATES else None


def offline_text(
    reason: str, messages: Sequence[TranscriptMessage], requested_language: str
) -> tuple[str, str]:
    """The summary text and the language it is written in."""
    language = language_of(requested_language) or "en"
    t = _TEMPLATES[language]
    request = customer_request(messages)
    attempts = ai_attempts(messages)
    replies = sum(1 for m in messages if m.role is Role.AI)
    sentiment = sentiment_over(messages)
    parts = [
        t["reason"].format(reason=reason.rstrip(".")) + ".",
        t["wants"].format(request=request) + "." if request else t["no_request"],
        t["tried"].format(n=replies, last=attempts[-1]) + "." if attempts else t["not_tried"],
        t["sentiment"].format(overall=t[sentiment.overall], trend=t[sentiment.trend]),
    ]
    if language_of(requested_language) is None:
        parts.append(_TEMPLATES["en"]["fallback"].format(language=requested_language))
    return " ".join(parts), language


@dataclass(frozen=True, slots=True)
class LlmEndpoint:
    """An OpenAI-compatible chat completions endpoint."""

    base_url: str
    model: str
    api_key: SecretStr | None
    timeout_seconds: float


_SYSTEM_PROMPT = (
    "You summarize a customer-support conversation that was escalated to a human supervisor. "
    "Write at most 90 words in the language with BCP 47 tag '{language}'. Cover: why it was "
    "escalated, what the customer wants, what the AI already tried, and how the customer's "
    "sentiment evolved. Plain text, no lists, no greeting."
)


async def llm_text(
    client: httpx.AsyncClient,
    endpoint: LlmEndpoint,
    reason: str,
    messages: Sequence[TranscriptMessage],
    language: str,
) -> str:
    conversation = "\n".join(f"{m.role.value}: {_clip(m.text, 1000)}" for m in messages[-30:])
    headers = {}
    if endpoint.api_key is not None:
        headers["Authorization"] = f"Bearer {endpoint.api_key.get_secret_value()}"
    response = await client.post(
        endpoint.base_url.rstrip("/") + "/chat/completions",
        json={
            "model": endpoint.model,
            "temperature": 0.2,
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT.format(language=language)},
                {"role": "user", "content": f"Escalation reason: {reason}\n\n{conversation}"},
            ],
        },
        headers=headers,
        timeout=endpoint.timeout_seconds,
    )
    response.raise_for_status()
    text = str(response.json()["choices"][0]["message"]["content"]).strip()
    if not text:
        raise ValueError("the model answered with an empty summary")
    return _clip(text, 2000)


async def summarize(
    escalation_id: UUID,
    reason: str,
    messages: Sequence[TranscriptMessage],
    requested_language: str,
    client: httpx.AsyncClient | None = None,
    endpoint: LlmEndpoint | None = None,
) -> EscalationSummaryText:
    text, language = offline_text(reason, messages, requested_language)
    method: Literal["offline", "llm"] = "offline"
    if client is not None and endpoint is not None:
        try:
            text = await llm_text(client, endpoint, reason, messages, requested_language)
            language, method = requested_language, "llm"
        except Exception as error:
            log.warning(
                "LLM summary failed; using the offline one",
                escalation_id=str(escalation_id),
                error=f"{type(error).__name__}: {error}",
            )
    return EscalationSummaryText(
        escalation_id=escalation_id,
        language=language,
        requested_language=requested_language,
        method=method,
        text=text,
        customer_request=customer_request(messages),
        ai_attempts=ai_attempts(messages),
        sentiment=sentiment_over(messages),
        generated_at=datetime.now(UTC),
    )
