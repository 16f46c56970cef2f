"""Evaluates a batch of chat messages against their conversations' states.

Shared by the Kafka handler (states in PostgreSQL), ``make eval`` and backtests (states
in memory): the same code decides everywhere. The language judge is asked once per batch, so
it can batch its model calls.
"""

from collections import Counter
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field, replace

from detector.escalations import detected_event, handoff_command
from detector.language import Judgement, LanguageJudge, Utterance, start_judging
from detector.policy import keywords_in, observe
from detector.state import ConversationKey, ConversationState, Decided
from escalator_schemas.chat import ChatMessage, Role
from escalator_schemas.config import AgentConfigVersion
from escalator_schemas.events import EscalationDetected, HandoffCommand


@dataclass(frozen=True, slots=True)
class Inbound:
    message: ChatMessage
    config: AgentConfigVersion
    waited_s: float = 0.0
    """How long the message had been waiting in the topic when it was read."""


@dataclass(slots=True)
class BatchOutcome:
    detected: list[EscalationDetected] = field(default_factory=list)
    handoffs: list[HandoffCommand] = field(default_factory=list)
    duplicates: int = 0
    judged: int = 0
    judged_with_model: int = 0
    model_skipped: Counter[str] = field(default_factory=Counter)
    """Open decisions settled without the model, by why (``Judgement.model_skipped``)."""

    def without(self, keys: Collection[ConversationKey]) -> "BatchOutcome":
        """The events decided for conversations other than ``keys`` (the counts stay: they
        are work done)."""
        return replace(
            self,
            detected=[e for e in self.detected if ConversationKey.of(e) not in keys],
            handoffs=[h for h in self.handoffs if ConversationKey.of(h) not in keys],
        )

    def merged(self, other: "BatchOutcome") -> "BatchOutcome":
        return BatchOutcome(
            detected=self.detected + other.detected,
            handoffs=self.handoffs + other.handoffs,
            duplicates=self.duplicates + other.duplicates,
            judged=self.judged + other.judged,
            judged_with_model=self.judged_with_model + other.judged_with_model,
            model_skipped=self.model_skipped + other.model_skipped,
        )


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch read against its states: what the judge is asked, and for which message."""

    keys: list[ConversationKey]
    keywords: list[tuple[str, ...]]
    utterances: list[Utterance]
    judged_at: list[int | None]
    """Per message, the index of its utterance (None: an AI message, a paused conversation's
    or a message seen before)."""


def _read(inbound: Sequence[Inbound], states: dict[ConversationKey, ConversationState]) -> _Batch:
    keywords: list[tuple[str, ...]] = []
    utterances: list[Utterance] = []
    judged_at: list[int | None] = []
    keys = [ConversationKey.of(item.message) for item in inbound]
    # Customer messages of each conversation so far, for the judge's context.
    history: dict[ConversationKey, list[str]] = {}
    for item, key in zip(inbound, keys, strict=True):
        message = item.message
        if message.role is not Role.CUSTOMER:
            keywords.append(())
            judged_at.append(None)
            continue
        state = states[key]
        found = keywords_in(message, item.config.config)
        keywords.append(found)
        earlier = history.get(key)
        if earlier is None:
            earlier = history[key] = list(state.customer_texts())
        if not state.paused and not state.seen(message.message_id):
            judged_at.append(len(utterances))
            utterances.append(
                Utterance(
                    text=message.text,
                    earlier=tuple(earlier[-5:]),
                    conditions=tuple(item.config.config.trigger_conditions),
                    keywords=found,
                    locale=message.customer.locale if message.customer else None,
                    waited_s=item.waited_s,
                )
            )
        else:
            judged_at.append(None)
        earlier.append(message.text)
    return _Batch(keys, keywords, utterances, judged_at)


def _apply(
    inbound: Sequence[Inbound],
    states: dict[ConversationKey, ConversationState],
    batch: _Batch,
    judgements: Sequence[Judgement | None],
    conversations: Collection[ConversationKey],
) -> BatchOutcome:
    """Apply the messages of ``conversations`` (in order) to their states, with the
    judgements of their utterances (present for every one of them)."""
    outcome = BatchOutcome()
    decided: dict[ConversationKey, list[Decided]] = {}
    for item, key, found, index in zip(
        inbound, batch.keys, batch.keywords, batch.judged_at, strict=True
    ):
        if key not in conversations:
            continue
        message = item.message
        state = states[key]
        events = decided.setdefault(key, [])
        if state.seen(message.message_id):
            outcome.duplicates += 1
            for kept in state.last_events:
                if kept.message_id == message.message_id:  # a replay: the same events again
                    outcome.detected.append(kept.detected)
                    outcome.handoffs.append(kept.handoff)
                    events.append(kept)
            continue
        judgement = judgements[index] if index is not None else None
        if judgement is not None:
            outcome.judged += 1
            outcome.judged_with_model += judgement.used_model
            if judgement.model_skipped:
                outcome.model_skipped[judgement.model_skipped] += 1
        decision = observe(state, message, item.config.config, judgement, found)
        if decision is None:
            continue
        detected = detected_event(key, state, decision, item.config, message.sent_at)
        handoff = handoff_command(detected, item.config)
        outcome.detected.append(detected)
        outcome.handoffs.append(handoff)
        events.append(Decided(message.message_id, detected, handoff))
    for key, events in decided.items():
        states[key].last_events = events
    return outcome


async def evaluate_batch(
    inbound: Sequence[Inbound],
    states: dict[ConversationKey, ConversationState],
    judge: LanguageJudge,
) -> BatchOutcome:
    """Apply ``inbound`` (in order) to ``states`` (mutated), returning the events to publish.

    ``states`` must hold a state (possibly new) for every conversation of the batch. Each keeps
    the events decided for it (``ConversationState.last_events``): a message seen before that
    decided events in the batch that last saved the state yields them again.
    """
    batch = _read(inbound, states)
    judgements = await judge.judge(batch.utterances) if batch.utterances else []
    return _apply(inbound, states, batch, judgements, set(batch.keys))


async def evaluate_in_parts(
    inbound: Sequence[Inbound],
    states: dict[ConversationKey, ConversationState],
    judge: LanguageJudge,
) -> AsyncIterator[tuple[set[ConversationKey], BatchOutcome]]:
    """``evaluate_batch`` in up to two parts, each with the conversations it decided: first,
    always, the conversations whose messages the judge's cheap signals settle (maybe none), at
    once; then, if any, those with a message the judge's model must read, once it has. A
    keyword, a low confidence or a turn limit is then never held up by another conversation's
    model call."""
    batch = _read(inbound, states)
    judging = start_judging(judge, batch.utterances) if batch.utterances else None
    waiting = set()
    if judging is not None:
        waiting = {
            key
            for key, index in zip(batch.keys, batch.judged_at, strict=True)
            if index is not None and judging.ready[index] is None
        }
    now = set(batch.keys) - waiting
    yield now, _apply(inbound, states, batch, judging.ready if judging else [], now)
    if waiting and judging is not None:
        yield waiting, _apply(inbound, states, batch, await judging.finish(), waiting)
