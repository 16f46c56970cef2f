"""Evaluates a batch of chat messages against their conversations' states.

Shared by the Kafka handler (states in PostgreSQL), ``make eval`` and backtests (states
in memory): the same code decides everywhere. The language judge is asked once per batch, so
it can batch its model calls.
"""

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from detector.escalations import detected_event, handoff_command
from detector.language import Judgement, LanguageJudge, Utterance
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
    outcome = BatchOutcome()
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

    judgements: list[Judgement] = await judge.judge(utterances) if utterances else []
    outcome.judged = len(judgements)
    outcome.judged_with_model = sum(j.used_model for j in judgements)
    outcome.model_skipped.update(j.model_skipped for j in judgements if j.model_skipped)

    decided: dict[ConversationKey, list[Decided]] = {key: [] for key in keys}
    for item, key, found, index in zip(inbound, keys, keywords, judged_at, strict=True):
        message = item.message
        state = states[key]
        if state.seen(message.message_id):
            outcome.duplicates += 1
            for kept in state.last_events:
                if kept.message_id == message.message_id:  # a replay: the same events again
                    outcome.detected.append(kept.detected)
                    outcome.handoffs.append(kept.handoff)
                    decided[key].append(kept)
            continue
        judgement = judgements[index] if index is not None else None
        decision = observe(state, message, item.config.config, judgement, found)
        if decision is None:
            continue
        detected = detected_event(key, state, decision, item.config, message.sent_at)
        handoff = handoff_command(detected, item.config)
        outcome.detected.append(detected)
        outcome.handoffs.append(handoff)
        decided[key].append(Decided(message.message_id, detected, handoff))
    for key, events in decided.items():
        states[key].last_events = events
    return outcome
