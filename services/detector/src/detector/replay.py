"""Replays whole conversations through the detector's own engine, with states in memory.

``make eval`` and backtests both decide through this one function: the same
``engine.evaluate_batch`` the Kafka handler runs, over every message of every conversation in
one batch, so the language judge batches its model calls across all of them.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

from detector.engine import Inbound, evaluate_batch
from detector.language import Judgement, LanguageJudge, Utterance
from detector.state import ConversationKey, ConversationState
from escalator_schemas.chat import ChatMessage, Role
from escalator_schemas.config import AgentConfigVersion
from escalator_schemas.events import EscalationDetected


@dataclass(frozen=True, slots=True)
class Conversation:
    """The messages of one conversation (oldest first), and the configuration to decide with."""

    messages: Sequence[ChatMessage]
    config: AgentConfigVersion


@dataclass(frozen=True, slots=True)
class Replayed:
    """What the engine made of one conversation."""

    detected: EscalationDetected | None
    """The first escalation (a conversation escalates at most once: the AI is then paused)."""
    state: ConversationState
    """The state after the last message."""
    judgements: tuple[Judgement, ...]
    """The judge's reading of the customer messages it was asked about, oldest first."""


@dataclass(frozen=True, slots=True)
class Replay:
    conversations: list[Replayed]
    """In the order given."""
    seconds: float
    judged: int
    """Customer messages the judge read."""
    judged_with_model: int
    """Of those, the ones for which it consulted the language model."""


class _RecordingJudge:
    """Passes the engine's questions on, keeping every answer in order."""

    def __init__(self, judge: LanguageJudge) -> None:
        self._judge = judge
        self.answers: list[tuple[Utterance, Judgement]] = []

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        judgements = await self._judge.judge(utterances)
        self.answers.extend(zip(utterances, judgements, strict=True))
        return judgements


def _keys(conversations: Sequence[Conversation]) -> list[ConversationKey]:
    keys = []
    for index, conversation in enumerate(conversations):
        if not conversation.messages:
            raise ValueError(f"conversation {index} has no messages")
        key = ConversationKey.of(conversation.messages[0])
        if any(ConversationKey.of(m) != key for m in conversation.messages):
            raise ValueError(f"conversation {key.conversation_id}: messages of another one")
        keys.append(key)
    if len(set(keys)) != len(keys):
        raise ValueError("two conversations share a conversation id")
    return keys


def _judgements_of(
    conversations: Sequence[Conversation], answers: list[tuple[Utterance, Judgement]]
) -> list[tuple[Judgement, ...]]:
    """Each conversation's share of the judge's answers. The engine asks about customer
    messages in the order given, so the answers are matched to them in that order."""
    shares: list[tuple[Judgement, ...]] = []
    position = 0
    for conversation in conversations:
        share = []
        for message in conversation.messages:
            if message.role is not Role.CUSTOMER or position >= len(answers):
                continue
            utterance, judgement = answers[position]
            if utterance.text == message.text:
                share.append(judgement)
                position += 1
        shares.append(tuple(share))
    return shares


async def replay(conversations: Sequence[Conversation], judge: LanguageJudge) -> Replay:
    """Decide every conversation from a fresh state, all in one engine batch."""
    keys = _keys(conversations)
    inbound = [Inbound(m, c.config) for c in conversations for m in c.messages]
    states = {key: ConversationState() for key in keys}
    recorder = _RecordingJudge(judge)
    started = time.perf_counter()
    outcome = await evaluate_batch(inbound, states, recorder)
    seconds = time.perf_counter() - started
    first: dict[ConversationKey, EscalationDetected] = {}
    for event in outcome.detected:
        key = ConversationKey(
            event.tenant_id, event.agent_id, event.environment.value, event.conversation_id
        )
        first.setdefault(key, event)
    shares = _judgements_of(conversations, recorder.answers)
    return Replay(
        conversations=[
            Replayed(first.get(key), states[key], share)
            for key, share in zip(keys, shares, strict=True)
        ],
        seconds=seconds,
        judged=outcome.judged,
        judged_with_model=outcome.judged_with_model,
    )
