"""Language understanding for the detector: what cheap rules cannot tell.

The policy (``detector.policy``) asks a ``LanguageJudge`` about customer messages, a Kafka batch
at a time, so an implementation can batch its model calls. Implementations:

- ``detector.language.embedded.EmbeddedJudge`` — the default: lexical cues decide the clear
  cases, an offline sentence-embedding model (shipped in a registry package) and small shipped
  classifiers decide the rest.
- ``detector.language.llm.LlmJudge`` — an external OpenAI-compatible LLM for trigger conditions,
  with a timeout and a fallback to the embedded judge.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition


@dataclass(frozen=True, slots=True)
class Signal:
    """How strongly something is present (0.0-1.0), and a short human explanation."""

    score: float
    detail: str = ""

    @property
    def present(self) -> bool:
        return self.score >= 0.5


NO_SIGNAL = Signal(0.0)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One customer message to judge, with the context the judge may use."""

    text: str
    earlier: tuple[str, ...] = ()
    """The conversation's earlier customer messages, oldest first (at most the last few)."""
    conditions: tuple[TriggerCondition, ...] = ()
    """The agent's trigger conditions; judged only when there are any."""
    keywords: tuple[str, ...] = ()
    """Escalation keywords found in ``text`` (case-insensitive substring hits)."""
    locale: str | None = None
    """The customer's locale when the chat backend knows it (a hint, not a promise)."""
    waited_s: float = 0.0
    """How long the message had been waiting in the topic when it was read (a backlog)."""


@dataclass(frozen=True, slots=True)
class ConditionMatch:
    """The verdict on one trigger condition for one message."""

    label: str
    score: float
    detail: str
    urgency: Urgency
    """How urgent the escalation is when this condition fires on this message."""

    @property
    def matched(self) -> bool:
        return self.score >= 0.5


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the judge read in one ``Utterance``."""

    anger: Signal
    """Anger or strong frustration: insults, sarcasm, mocking emojis, shouting, repeated
    complaints across turns, threats of bad reviews — in any supported language."""
    urgency: Signal
    """A time-critical need: a deadline, a health or business-critical situation."""
    keyword_intent: float = 1.0
    """For keyword hits: 1.0 when the customer really asks for what the keyword names (a
    person, a refund, a cancellation, a lawyer), 0.0 for an incidental mention ("gift for my
    sister, a lawyer"). 1.0 when ``keywords`` was empty."""
    conditions: tuple[ConditionMatch, ...] = ()
    """One verdict per condition of the utterance, in the same order."""
    legal_threat: bool = False
    """The customer threatens legal action (courts, lawyers, chargebacks, regulators)."""
    used_model: bool = False
    """Whether the language model was consulted (cheap cues were not enough)."""
    model_skipped: str | None = None
    """Why an open decision was settled without the model: "keyword" (a keyword escalates the
    message anyway), "sentiment" (so does anger or urgency the cues are sure of), "backlog",
    "budget", "off" or "failed"; None when nothing was left open or the model settled it."""
    notes: tuple[str, ...] = field(default=())


class LanguageJudge(Protocol):
    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        """One ``Judgement`` per utterance, in order."""
        ...


@dataclass(frozen=True, slots=True)
class Judging:
    """Judgements in two steps, so that what the cheap signals settle is not held up by the
    messages a model must read (tens of milliseconds embedded, seconds for an external LLM)."""

    ready: Sequence[Judgement | None]
    """One per utterance: its judgement when it needs no model, else None."""
    finish: Callable[[], Awaitable[list[Judgement]]]
    """Every judgement, in order, once the model answered (the ready ones unchanged)."""


class StagedJudge(LanguageJudge, Protocol):
    def start(self, utterances: Sequence[Utterance]) -> Judging:
        """Read ``utterances`` with the cheap signals now; the model's part waits for
        ``Judging.finish``."""
        ...


def start_judging(judge: LanguageJudge, utterances: Sequence[Utterance]) -> Judging:
    """``judge.start`` where the judge is a ``StagedJudge``; else every judgement waits for
    ``judge.judge``. (Duck-typed: a runtime protocol check costs more than the rest of a
    small batch's bookkeeping.)"""
    start = getattr(judge, "start", None)
    if start is not None:
        judging: Judging = start(utterances)
        return judging
    return Judging([None] * len(utterances), lambda: judge.judge(utterances))
