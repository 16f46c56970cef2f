"""Does a message satisfy a condition's clause? Concept detectors, number checks, similarity."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from detector.language import ConditionMatch
from detector.language.conditions import Clause, ConditionPlan, concepts, kinds
from detector.language.lexical import Reading, repeated_share
from escalator_schemas.classification import Urgency

STRONG = 0.85
UNSURE = 0.4
"""Some sign of the concept, not enough on its own (a repeat cue the history does not back)."""
ASKED = 0.1
"""A hazard asked about in general ("does the fire pit have a lid?") is not a hazard reported."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the judge already knows about the message when it checks conditions."""

    reading: Reading
    earlier: tuple[Reading, ...]
    anger: float
    urgency: float
    legal: float


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_FIRST_PERSON = re.compile(
    r"\b(i|i'm|i've|my|me|we|our|us|mine|yo|mi|me|nos|nuestro|ich|mein|meine|mir|mich|wir|"
    r"unser|je|j'|mon|ma|mes|moi|nous|eu|meu|minha|comigo|nos)\b|\bj'"
)
_ASKING = re.compile(
    r"^\W*(does|do|is|are|can|could|will|would|should|what if|how|which|any|est-ce|peut|"
    r"es|puede|ist|kann|e|pode)\b"
)


def _reported(reading: Reading, group: str) -> float:
    """A hazard or health cue reported by the customer, not asked about in general."""
    if not reading.has(group):
        return 0.0
    phrases = reading.hits[group]
    for sentence in _SENTENCE.findall(reading.folded):
        if not any(phrase in sentence for phrase in phrases):
            continue
        asking = _ASKING.match(sentence) and sentence.rstrip().endswith("?")
        if not asking or _FIRST_PERSON.search(sentence):
            return STRONG
    return ASKED


def _repeated(ctx: Context) -> float:
    """The customer raises the same complaint again (not merely a follow-up question)."""
    reading = ctx.reading
    if reading.has("repeat_strong"):
        return STRONG  # "for the third time", "zum dritten Mal"
    if not reading.has("repeat"):
        return 0.0
    if ctx.earlier and (repeated_share(reading, ctx.earlier) >= 0.2 or reading.elapsed_days >= 3):
        return STRONG
    return UNSURE


def _cue(group: str, score: float = STRONG) -> Callable[[Context], float]:
    return lambda ctx: score if ctx.reading.has(group) else 0.0


_DETECTORS: dict[str, Callable[[Context], float]] = {
    "legal": lambda ctx: ctx.legal,
    "anger": lambda ctx: ctx.anger,
    "urgent": lambda ctx: ctx.urgency,
    "repeated": _repeated,
    "human": _cue("human_request"),
    "safety": lambda ctx: _reported(ctx.reading, "safety"),
    "health": lambda ctx: _reported(ctx.reading, "health"),
    "fraud": _cue("fraud"),
    "privacy": _cue("privacy"),
    "bulk": _cue("bulk", 0.8),
    "high_value": lambda _ctx: 0.0,
    "cancel": _cue("cancel", 0.8),
    "refund": _cue("refund_want", 0.8),
    "damage": _cue("damaged", 0.8),
    "delivery": _cue("delivery_problem", 0.8),
    "review": _cue("threat_leave"),
    "competitor": _cue("competitor", 0.8),
}
# The cue groups each detector reads: a message with none of them scores 0 on it. Detectors
# missing here read the judge's own estimates (anger, urgency, legal) and always run.
_READS: dict[str, tuple[str, ...]] = {
    "repeated": ("repeat", "repeat_strong"),
    "human": ("human_request",),
    "safety": ("safety",),
    "health": ("health",),
    "fraud": ("fraud",),
    "privacy": ("privacy",),
    "bulk": ("bulk",),
    "high_value": (),
    "cancel": ("cancel",),
    "refund": ("refund_want",),
    "damage": ("damaged",),
    "delivery": ("delivery_problem",),
    "review": ("threat_leave",),
    "competitor": ("competitor",),
}
# Concepts that qualify another ("frustrated about a late delivery"): both must hold.
_QUALIFIERS = frozenset({"anger", "urgent"})
# Concepts with their own classifiers: similarity is never asked to overrule them.
_OWN_CLASSIFIER = frozenset({"legal", "anger", "urgent", "repeated"})


@dataclass(frozen=True, slots=True)
class ClauseVerdict:
    score: float
    urgency: Urgency
    detail: str
    wants_relation: bool
    """Similarity should be consulted (an unsure detector, or a clause no detector covers)."""
    generic: bool = False
    """The clause is about no known concept: only similarity can match it."""


def _numbers(clause: Clause, ctx: Context) -> tuple[float, str] | None:
    """None when the message has no number of the clause's kind (the numbers cannot decide)."""
    wanted = kinds(clause)
    found = [q for q in ctx.reading.quantities if q.kind in wanted]
    if not found:
        return None
    for quantity in found:
        if any(limit.holds(quantity) for limit in clause.limits):
            return 0.9, f"{quantity.value:g} ({quantity.kind}) is within the limit"
    return 0.05, "the numbers mentioned are outside the limit"


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a clause's verdicts share, worked out once per clause."""

    urgency: Urgency
    reads: frozenset[str] | None
    """The cue groups its detectors read; None when one reads the judge's estimates."""
    silent: ClauseVerdict
    """The verdict on a message with none of those groups and no number."""


def _facts(clause: Clause) -> _Facts:
    if isinstance(clause.facts, _Facts):
        return clause.facts
    known = concepts()
    urgency = max(
        (known[name].urgency for name in clause.concepts),
        key=lambda u: u.rank,
        default=Urgency.MEDIUM,
    )
    reading = Reading.silent()
    # Estimates of 0 and no legal threat: exactly what a message without cues is judged on.
    silent = _judge(clause, Context(reading, (), 0.0, 0.0, 0.0), urgency)
    groups = [_READS.get(name) for name in clause.concepts]
    reads = None if None in groups else frozenset(g for found in groups if found for g in found)
    clause.facts = _Facts(urgency, reads, silent)
    return clause.facts


def judge_clause(clause: Clause, ctx: Context) -> ClauseVerdict:
    """The lexical verdict on one clause; similarity may refine it later."""
    facts = _facts(clause)
    reading = ctx.reading
    if (
        facts.reads is not None
        and not (clause.limits and reading.quantities)
        and facts.reads.isdisjoint(reading.hits)
    ):
        return facts.silent  # the common case: nothing in the message for this clause
    return _judge(clause, ctx, facts.urgency)


def _judge(clause: Clause, ctx: Context, urgency: Urgency) -> ClauseVerdict:
    known = concepts()
    scores = {name: _DETECTORS[name](ctx) for name in clause.concepts}
    qualitative = {n: s for n, s in scores.items() if not known[n].quantity}
    if clause.limits:
        numbers = _numbers(clause, ctx)
        if numbers is None:
            # No number to compare: a quantity concept's own cues ("wholesale") may still hold.
            quantity_cues = [s for n, s in scores.items() if known[n].quantity]
            score = max(quantity_cues, default=0.0) if not qualitative else 0.0
            return ClauseVerdict(score, urgency, f'"{clause.text}": no number to compare', False)
        number_score, why = numbers
        if qualitative:
            number_score = min(number_score, *qualitative.values())
        return ClauseVerdict(number_score, urgency, f'"{clause.text}": {why}', False)
    if not clause.concepts:
        # A clause without a single content word ("100", "Escalate") says nothing to compare.
        return ClauseVerdict(0.0, urgency, f'"{clause.text}"', bool(clause.stems), generic=True)
    if len(qualitative) > 1 and _QUALIFIERS & qualitative.keys():
        score = min(qualitative.values())
    else:
        score = max(scores.values())
    # Similarity may settle an unsure detector, or a clause its cue words cover only in part
    # ("a gift card or voucher that was lost or stolen" is about more than fraud). It never
    # overrules a detector that covers its clause and found nothing: it is too loose for that.
    uncertain = (0.2 <= score < 0.7 or (score < 0.2 and clause.uncovered >= 3)) and not (
        _OWN_CLASSIFIER & set(clause.concepts)
    )
    names = "/".join(clause.concepts)
    return ClauseVerdict(score, urgency, f'"{clause.text}" ({names})', uncertain)


def combine(plan: ConditionPlan, verdicts: list[ClauseVerdict], ctx: Context) -> ConditionMatch:
    """One condition's verdict: its best clause, at the most urgent matched clause's urgency."""
    if all(v is _facts(c).silent for v, c in zip(verdicts, plan.clauses, strict=True)):
        # Nothing in the message for any clause (most messages): the same verdict every time.
        if plan.silent_match is None:
            plan.silent_match = _combine(plan, verdicts, ctx)
        return plan.silent_match
    return _combine(plan, verdicts, ctx)


def _combine(plan: ConditionPlan, verdicts: list[ClauseVerdict], ctx: Context) -> ConditionMatch:
    best = max(verdicts, key=lambda v: v.score)
    matched = [v for v in verdicts if v.score >= 0.5]
    urgency = max((v.urgency for v in matched), key=lambda u: u.rank, default=best.urgency)
    if matched and all(v.generic for v in matched) and ctx.urgency >= 0.5:
        urgency = Urgency.HIGH  # an unknown concept, matched with an urgent need
    detail = ("matched " if best.score >= 0.5 else "closest: ") + best.detail
    return ConditionMatch(
        label=plan.condition.label, score=round(best.score, 3), detail=detail, urgency=urgency
    )
