"""The escalation policy: every trigger of the seed and the contract, combined into one
explainable decision. Plain synchronous functions over a conversation's state, so unit tests,
``make eval`` and backtests run exactly the code the service runs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from detector.cues import asks_for_clarification, keyword_category
from detector.keywords import matcher_for
from detector.language import Judgement
from detector.state import ConversationState
from escalator_schemas.chat import ChatMessage, Role
from escalator_schemas.classification import Category, TriggerKind, Urgency
from escalator_schemas.config import EscalationConfig, slugify
from escalator_schemas.events import Trigger

CLARIFICATIONS_TO_ESCALATE = 2

# Which trigger decides when several fire with the same urgency.
_PRIORITY = {
    TriggerKind.KEYWORD: 0,
    TriggerKind.CONDITION: 1,
    TriggerKind.SENTIMENT: 2,
    TriggerKind.CONFIDENCE: 3,
    TriggerKind.TURN_LIMIT: 4,
    TriggerKind.IDLE: 5,
}


@dataclass(frozen=True, slots=True)
class Fired:
    """One trigger that fired on a message."""

    trigger: Trigger
    urgency: Urgency
    category: str
    reason: str
    """A sentence fragment saying why, for the escalation's reason."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The conversation must go to a human: the deciding trigger, all of them, and why."""

    trigger: Trigger
    triggers: tuple[Trigger, ...]
    urgency: Urgency
    category: str
    reason: str
    trigger_message_id: str


def keywords_in(message: ChatMessage, config: EscalationConfig) -> tuple[str, ...]:
    """Escalation keywords in a customer message (never in the AI's or a human's words)."""
    if message.role is not Role.CUSTOMER:
        return ()
    return tuple(matcher_for(tuple(config.escalation_keywords)).find(message.text))


def _quoted(words: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


def customer_triggers(
    keywords: tuple[str, ...], config: EscalationConfig, judgement: Judgement
) -> list[Fired]:
    fired: list[Fired] = []
    if keywords:
        intended = judgement.keyword_intent >= 0.5
        category = keyword_category(keywords[0])
        urgency = Urgency.MEDIUM
        if intended:
            urgency = Urgency.CRITICAL if category is Category.LEGAL else Urgency.HIGH
        reason = f"the customer wrote {_quoted(keywords)}, an escalation keyword"
        if not intended:
            reason += ", though it reads as an incidental mention"
        fired.append(
            Fired(
                Trigger(
                    kind=TriggerKind.KEYWORD,
                    detail=f"keyword {_quoted(keywords)}",
                    score=round(max(judgement.keyword_intent, 0.5), 3),
                ),
                urgency,
                category,
                reason,
            )
        )
    for condition, match in zip(config.trigger_conditions, judgement.conditions, strict=False):
        if match.matched:
            fired.append(
                Fired(
                    Trigger(
                        kind=TriggerKind.CONDITION,
                        detail=f'condition "{condition.label}": {match.detail}'[:500],
                        score=round(match.score, 3),
                    ),
                    match.urgency,
                    "condition:" + slugify(condition.label),
                    f'the conversation matches the trigger condition "{condition.label}"',
                )
            )
    anger, urgent = judgement.anger, judgement.urgency
    # A legal threat on its own is an automatic signal only when no keyword or condition
    # already escalates the message (those carry its urgency themselves).
    if anger.present or urgent.present or (judgement.legal_threat and not fired):
        fired.append(_sentiment(judgement))
    return fired


def _sentiment(judgement: Judgement) -> Fired:
    anger, urgent = judgement.anger, judgement.urgency
    parts = [
        part
        for part in (anger.detail if anger.present else "", urgent.detail if urgent.present else "")
        if part
    ]
    if judgement.legal_threat:
        parts.insert(0, "legal threat")
    detail = "; ".join(parts) or "negative sentiment"
    score = max(anger.score if anger.present else 0.0, urgent.score if urgent.present else 0.0)
    if judgement.legal_threat:
        urgency, category, reason = (
            Urgency.CRITICAL,
            Category.LEGAL,
            "the customer threatens legal action",
        )
        score = max(score, 0.9)
    elif anger.present and urgent.present:
        urgency, category = Urgency.CRITICAL, Category.SENTIMENT
        reason = "the customer is angry and demands something urgently"
    elif urgent.present:
        urgency, category = Urgency.HIGH, Category.SENTIMENT
        reason = "the customer has an urgent, time-critical need"
    else:
        urgency, category = Urgency.MEDIUM, Category.SENTIMENT
        reason = "the customer is angry or strongly frustrated"
    return Fired(
        Trigger(kind=TriggerKind.SENTIMENT, detail=detail[:500], score=round(score, 3)),
        urgency,
        category,
        reason,
    )


def ai_triggers(
    message: ChatMessage, state: ConversationState, config: EscalationConfig
) -> list[Fired]:
    """Triggers of an AI response; ``state`` already counts this response."""
    fired: list[Fired] = []
    threshold = config.threshold
    if message.ai_confidence is not None and message.ai_confidence < threshold:
        fired.append(
            Fired(
                Trigger(
                    kind=TriggerKind.CONFIDENCE,
                    detail=f"AI confidence {message.ai_confidence:.2f} below threshold "
                    f"{threshold:.2f}",
                    score=round(1.0 - message.ai_confidence, 3),
                ),
                Urgency.MEDIUM,
                Category.LOW_CONFIDENCE,
                f"the AI's confidence ({message.ai_confidence:.2f}) fell below the threshold "
                f"({threshold:.2f})",
            )
        )
    elif state.clarifications >= CLARIFICATIONS_TO_ESCALATE:
        fired.append(
            Fired(
                Trigger(
                    kind=TriggerKind.CONFIDENCE,
                    detail=f"the AI asked the customer to clarify {state.clarifications} times "
                    "in a row",
                    score=0.6,
                ),
                Urgency.MEDIUM,
                Category.LOW_CONFIDENCE,
                f"the AI asked the customer to clarify {state.clarifications} times in a row",
            )
        )
    limit = config.max_ai_turns_before_escalation
    if state.turns >= limit:
        fired.append(
            Fired(
                Trigger(
                    kind=TriggerKind.TURN_LIMIT,
                    detail=f"{state.turns} AI turns reached the limit of {limit}",
                    score=1.0,
                ),
                Urgency.LOW,
                Category.TURN_LIMIT,
                f"the conversation reached the limit of {limit} AI turns",
            )
        )
    return fired


def combine(fired: list[Fired], trigger_message_id: str) -> Decision:
    """The most urgent trigger decides; every trigger is kept, and the reason names them all."""
    ranked = sorted(fired, key=lambda f: (-f.urgency.rank, _PRIORITY[f.trigger.kind]))
    deciding = ranked[0]
    reason = deciding.reason[0].upper() + deciding.reason[1:]
    others = [f.reason for f in ranked[1:] if f.reason != deciding.reason]
    if others:
        reason += "; also, " + "; ".join(others)
    return Decision(
        trigger=deciding.trigger,
        triggers=tuple(f.trigger for f in ranked),
        urgency=deciding.urgency,
        category=deciding.category,
        reason=reason + ".",
        trigger_message_id=trigger_message_id,
    )


def observe(
    state: ConversationState,
    message: ChatMessage,
    config: EscalationConfig,
    judgement: Judgement | None,
    keywords: tuple[str, ...] = (),
) -> Decision | None:
    """Apply one new message to ``state`` and decide whether it escalates the conversation.

    ``judgement`` is the language judge's reading of a customer message (None for others, or
    when the conversation is paused). Redeliveries must be filtered out by the caller
    (``state.seen``).
    """
    state.remember(message)
    fired: list[Fired] = []
    if message.role is Role.CUSTOMER:
        state.awaiting_ai = True
        if state.waiting_message_id is None:
            state.waiting_message_id = message.message_id
            state.idle_deadline = (
                message.sent_at + timedelta(seconds=config.idle_timeout_seconds)
                if config.idle_timeout_seconds and not state.paused
                else None
            )
        if judgement is not None and config.enabled and not state.paused:
            fired = customer_triggers(keywords, config, judgement)
    else:
        state.waiting_message_id, state.idle_deadline = None, None
        if message.role is Role.AI and not state.paused:
            if state.awaiting_ai:
                state.turns += 1
                state.total_turns += 1
                state.awaiting_ai = False
            state.clarifications = (
                state.clarifications + 1 if asks_for_clarification(message.text) else 0
            )
            if config.enabled:
                fired = ai_triggers(message, state, config)
    if not fired:
        return None
    decision = combine(fired, message.message_id)
    pause(state)
    return decision


def pause(state: ConversationState) -> None:
    """The conversation went to a human: nothing escalates it again until the AI resumes."""
    state.paused = True
    state.waiting_message_id, state.idle_deadline = None, None


def resume(state: ConversationState) -> None:
    """The AI takes over again with a fresh turn budget. The events kept for a replay go: they
    belong to the escalation just handed back, and a redelivered message (the resume can be
    read before messages sent ahead of it, from another topic) must not raise it again."""
    state.paused = False
    state.escalation_id = None
    state.turns = 0
    state.clarifications = 0
    state.awaiting_ai = False
    state.last_events = []


def idle_decision(state: ConversationState, now: datetime) -> Decision | None:
    """The idle timeout: a customer message left without any reply until its deadline."""
    if state.paused or state.idle_deadline is None or state.waiting_message_id is None:
        return None
    if now < state.idle_deadline:
        return None
    waiting = next(
        (m for m in state.transcript if m["message_id"] == state.waiting_message_id), None
    )
    waited = now - datetime.fromisoformat(waiting["sent_at"]) if waiting else timedelta(0)
    minutes = max(1, round(waited.total_seconds() / 60))
    decision = Decision(
        trigger=Trigger(
            kind=TriggerKind.IDLE,
            detail=f"no reply for {minutes} min",
            score=1.0,
        ),
        triggers=(Trigger(kind=TriggerKind.IDLE, detail=f"no reply for {minutes} min", score=1.0),),
        urgency=Urgency.LOW,
        category=Category.IDLE,
        reason=f"The customer's message has waited {minutes} min without any reply.",
        trigger_message_id=state.waiting_message_id,
    )
    pause(state)
    return decision
