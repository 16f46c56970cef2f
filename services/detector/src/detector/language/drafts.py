"""The lexical pass over one utterance: every answer the cheap cues can give, and which of them
the embedding model should settle."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from detector.language import ConditionMatch, Judgement, Signal, Utterance
from detector.language.conditions import ConditionPlan, plan
from detector.language.features import (
    anger_features,
    anger_has_cues,
    anger_is_evident,
    anger_moved_on,
    intent_features,
    urgency_features,
    urgency_has_cues,
    urgency_is_evident,
    urgency_is_idle_question,
)
from detector.language.intent import intent_rule
from detector.language.legal import legal_score
from detector.language.lexical import Reading, read
from detector.language.matching import ClauseVerdict, Context, combine, judge_clause
from detector.language.model import Task, Weights

# Any sign that a message is more than small talk: only such messages may reach the model for
# trigger conditions that no cue-word detector covers.
_TROUBLE = (
    "anger", "insult", "sarcasm", "angry_emoji", "issue", "damaged", "delivery_problem",
    "urg_now", "urg_deadline", "urg_need", "human_request", "threat_leave", "fraud",
    "duplicate_charge", "safety", "health", "privacy", "bulk", "refund_want", "cancel",
    "competitor",
)  # fmt: skip


@dataclass(slots=True)
class Estimate:
    """One classifier's answer for one utterance: lexical first, the model's if consulted."""

    features: list[float]
    probability: float
    uncertain: bool
    evident: bool = True
    """The cues alone are strong enough to say "yes" (see ``features.*_is_evident``)."""

    def without_model(self) -> None:
        """The model cannot be asked (budget spent, or switched off): a "yes" the cues do not
        make evident becomes a "no" — a missed escalation costs less than a false one."""
        if self.uncertain and not self.evident and self.probability >= 0.5:
            self.probability = 0.45
        self.uncertain = False


def _estimate(task: Task, features: list[float], cues: bool, evident: bool) -> Estimate:
    """The lexical answer; unsure inside the task's band when there is any cue at all, and
    also when it says "yes" on thin evidence (a single weak cue)."""
    probability = task.lexical.probability(features)
    uncertain = (task.uncertain(probability) and cues) or (
        probability > task.band[1] and not evident
    )
    return Estimate(features, probability, uncertain, evident)


WITHOUT_MODEL = {
    "off": "model off",
    "backlog": "a backlog",
    "budget": "model budget spent",
    "failed": "model failed",
}
"""Why an open decision may be settled without the model, and how its notes say so."""


SureTrigger = Literal["keyword", "sentiment"]
"""What escalates a message whatever the model says (``Draft.sure_trigger``)."""


@dataclass(slots=True)
class Draft:
    """Everything the judge knows about one utterance so far."""

    utterance: Utterance
    reading: Reading
    earlier: tuple[Reading, ...]
    anger: Estimate
    urgency: Estimate
    intent: Estimate | None
    legal: float
    plans: list[ConditionPlan]
    verdicts: list[list[ClauseVerdict]] = field(default_factory=list)
    used_model: bool = False
    notes: list[str] = field(default_factory=list)
    model_skipped: str | None = None
    """Why what was open got settled without the model (see ``Judgement.model_skipped``)."""

    def context(self) -> Context:
        return Context(
            self.reading, self.earlier, self.anger.probability, self.urgency.probability, self.legal
        )

    def judge_clauses(self) -> None:
        """(Re)judge every clause lexically, with the current anger/urgency estimates."""
        if not self.plans:
            self.verdicts = []  # most agents have no trigger conditions
            return
        context = self.context()
        self.verdicts = [
            [judge_clause(clause, context) for clause in condition_plan.clauses]
            for condition_plan in self.plans
        ]

    def relation_wanted(self) -> list[tuple[int, int]]:
        """(condition, clause) pairs whose verdict similarity should settle."""
        reading = self.reading
        substantive: bool | None = None
        wanted = []
        for i, (condition_plan, verdicts) in enumerate(zip(self.plans, self.verdicts, strict=True)):
            pairs = zip(condition_plan.clauses, verdicts, strict=True)
            for j, (clause, verdict) in enumerate(pairs):
                if not verdict.wants_relation:
                    continue
                if substantive is None:
                    # Cheap relevance gate: small talk ("thanks!", "ok, the blue one") never
                    # reaches the model; a message with some substance, a sign of trouble or a
                    # word of the clause does.
                    substantive = len(reading.content) >= 3 or any(map(reading.has, _TROUBLE))
                if substantive or clause.stems & reading.content:
                    wanted.append((i, j))
        return wanted

    def needs_model(self) -> bool:
        return (
            self.anger.uncertain
            or self.urgency.uncertain
            or (self.intent is not None and self.intent.uncertain)
            or bool(self.relation_wanted())
        )

    def sure_trigger(self) -> SureTrigger | None:
        """The trigger that escalates this message whatever the model says, when no trigger
        condition waits on similarity: "keyword", or "sentiment" for anger or urgency the cues
        are sure of ("it has to be here by tomorrow morning, it's for a party" is urgent, and
        whether it is angry too only decides between high and critical). The model could then
        only refine how urgent the escalation is. None otherwise."""
        if self.relation_wanted():
            return None
        if self.utterance.keywords:
            return "keyword"
        sure = any(not e.uncertain and e.probability >= 0.5 for e in (self.anger, self.urgency))
        return "sentiment" if sure else None

    def level_from_cues(self, trigger: SureTrigger) -> None:
        """Let the cues' own estimates set the urgency of an escalation that happens anyway
        (``trigger``: its ``sure_trigger``). Unlike ``without_model``, a thin "yes" stays
        a "yes": nothing is escalated on it that is not escalated already, so there is no
        false escalation to guard against."""
        for estimate in (self.anger, self.urgency, self.intent):
            if estimate is not None:
                estimate.uncertain = False
        what = "a keyword" if trigger == "keyword" else "a sure sign of anger or urgency"
        self.notes.append(f"{what} escalates it: the cues set the urgency")
        self.model_skipped = trigger

    def without_model(self, reason: str) -> None:
        """Settle what was left open from the cues alone, for ``reason`` (one of
        ``WITHOUT_MODEL``: what ``Judgement.model_skipped`` and the metrics say)."""
        self.anger.without_model()
        self.urgency.without_model()
        self.model_skipped = reason
        self.notes.append(f"{WITHOUT_MODEL[reason]}: cues decided")

    def doubt(self) -> float:
        """How open the decision is (higher first when the model's budget is short): conditions
        and keyword intents are rare and decisive, then the closest calls."""
        if self.relation_wanted() or (self.intent is not None and self.intent.uncertain):
            return 1.0
        margins = [abs(e.probability - 0.5) for e in (self.anger, self.urgency) if e.uncertain]
        return 0.5 - min(margins, default=0.5)


def draft(utterance: Utterance, weights: Weights) -> Draft:
    """The lexical pass over one utterance (about a hundred microseconds)."""
    reading = read(utterance.text)
    earlier = tuple(read(text) for text in utterance.earlier)
    if reading.shout and (
        "caps_lock" in reading.hits or any("caps_lock" in e.hits for e in earlier)
    ):
        # "sorry, caps lock is stuck": capitals that emphasise nothing
        reading = replace(reading, shout=0.0, caps_words=0, emphatic_time=False)
    intent = None
    if utterance.keywords:
        rule = intent_rule(reading, utterance.keywords)
        features = intent_features(reading, utterance.keywords, rule)
        lexical = rule.score if rule.certain else weights.intent.lexical.probability(features)
        intent = Estimate(features, lexical, not rule.certain)
    result = Draft(
        utterance=utterance,
        reading=reading,
        earlier=earlier,
        anger=_estimate(
            weights.anger,
            anger_features(reading, earlier),
            anger_has_cues(reading),
            anger_is_evident(reading),
        ),
        urgency=_estimate(
            weights.urgency,
            urgency_features(reading),
            urgency_has_cues(reading),
            urgency_is_evident(reading),
        ),
        intent=intent,
        legal=legal_score(reading),
        plans=[plan(condition) for condition in utterance.conditions],
    )
    # Only a "yes" or an open call can be settled this way (most messages are neither, and
    # the rule reads the whole text).
    anger = result.anger
    if (anger.probability > 0.45 or anger.uncertain) and anger_moved_on(reading):
        anger.probability = min(anger.probability, 0.45)
        anger.uncertain = False
    if urgency_is_idle_question(reading):
        result.urgency.probability = min(result.urgency.probability, 0.45)
        result.urgency.uncertain = False
    result.judge_clauses()
    return result


def finish(item: Draft) -> Judgement:
    """The judgement a draft amounts to."""
    reading = item.reading
    conditions: tuple[ConditionMatch, ...] = ()
    if item.plans:
        context = item.context()
        conditions = tuple(
            combine(condition_plan, verdicts, context)
            for condition_plan, verdicts in zip(item.plans, item.verdicts, strict=True)
        )
    return Judgement(
        anger=_signal(item.anger.probability, _anger_detail, reading),
        urgency=_signal(item.urgency.probability, _urgency_detail, reading),
        keyword_intent=1.0 if item.intent is None else round(item.intent.probability, 3),
        conditions=conditions,
        legal_threat=item.legal >= 0.5,
        used_model=item.used_model,
        model_skipped=item.model_skipped,
        notes=tuple(item.notes),
    )


def _signal(probability: float, explain: Callable[[Reading], str], reading: Reading) -> Signal:
    """A signal, explained only when present (the explanation is only ever read then)."""
    return Signal(round(probability, 3), explain(reading) if probability >= 0.5 else "")


def _quoted(reading: Reading, groups: tuple[str, ...], limit: int = 3) -> str:
    phrases = [phrase for group in groups for phrase in reading.hits.get(group, ())]
    return ", ".join(f'"{phrase}"' for phrase in phrases[:limit])


def _anger_detail(reading: Reading) -> str:
    parts = []
    cues = _quoted(reading, ("anger", "insult", "sarcasm", "angry_emoji", "threat_leave"))
    if cues:
        parts.append(f"angry words {cues}")
    if reading.shout >= 0.5:
        parts.append("shouting")
    if reading.has("repeat"):
        parts.append("repeated complaint")
    return "anger or strong frustration" + (f" ({'; '.join(parts)})" if parts else "")


def _urgency_detail(reading: Reading) -> str:
    cues = _quoted(reading, ("urg_deadline", "urg_now", "urg_time", "urg_critical", "urg_event"))
    return "a time-critical need" + (f" ({cues})" if cues else "")
