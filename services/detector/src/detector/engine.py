"""Evaluates a batch of chat messages against their conversations' states.

Shared by the Kafka handler (states locked in PostgreSQL), ``make eval`` and backtests (states
in memory): the same code decides everywhere. The language judge is asked once per batch, so
it can batch its model calls.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from detector.escalations import detected_event, handoff_command
from detector.language import Judgement, LanguageJudge, Utterance
from detector.policy import keywords_in, observe
from detector.state import ConversationKey, ConversationState
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


async def evaluate_batch(
    inbound: Sequence[Inbound],
    states: dict[ConversationKey, ConversationState],
    judge: LanguageJudge,
) -> BatchOutcome:
    """Apply ``inbound`` (in order) to ``states`` (mutated), returning the events to publish.

    ``states`` must hold a state (possibly new) for every conversation of the batch.
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

    for item, key, found, index in zip(inbound, keys, keywords, judged_at, strict=True):
        message = item.message
        state = states[key]
        if state.seen(message.message_id):
            outcome.duplicates += 1
            continue
        judgement = judgements[index] if index is not None else None
        decision = observe(state, message, item.config.config, judgement, found)
        if decision is None:
            continue
        detected = detected_event(key, state, decision, item.config, message.sent_at)
        outcome.detected.append(detected)
        outcome.handoffs.append(handoff_command(detected, item.config))
    return outcome
