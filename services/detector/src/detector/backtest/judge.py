"""The language judge of backtests: the detector's embedded judge, remembering what it read.

A backtest replays the same messages under several configurations, and merchants rerun it as
they edit a draft. The embedding model costs ~20 ms a message, the lexical reading ~0.1 ms:
each text is embedded once per process (a bounded LRU of vectors), and a question asked again
(same text, context, keywords found and conditions) is answered from memory.

Blocking: run backtests in a worker thread, never on an event loop.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt

from detector.language import Judgement, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.model import EMBEDDING_DIM, Embedder, Vector, shared_embedder

EMBEDDINGS_KEPT = 50_000
"""About 75 MB of float32 vectors at most."""
JUDGEMENTS_KEPT = 200_000


class RememberedEmbeddings(Embedder):
    """The shared model's embeddings, each text embedded once while it stays in the LRU."""

    def __init__(self, model: Embedder, capacity: int = EMBEDDINGS_KEPT) -> None:
        super().__init__(num_threads=1, cache_size=0)
        self._source = model
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        self._capacity = capacity
        self._guard = threading.Lock()
        self.embedded = 0
        """Texts the model embedded for backtests (the rest came from memory)."""

    def load(self) -> None:
        self._source.load()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        found: dict[str, Vector] = {}
        with self._guard:
            for text in dict.fromkeys(texts):
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            vectors = self._source.embed(missing)
            with self._guard:
                self.embedded += len(missing)
                for text, vector in zip(missing, vectors, strict=True):
                    found[text] = self._vectors[text] = vector
                while len(self._vectors) > self._capacity:
                    self._vectors.popitem(last=False)
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = found[text]
        return out


class RememberingJudge:
    """A ``LanguageJudge`` that asks the embedded judge only what it was not asked before."""

    def __init__(
        self,
        judge: EmbeddedJudge,
        embeddings: RememberedEmbeddings | None = None,
        capacity: int = JUDGEMENTS_KEPT,
    ) -> None:
        self._judge = judge
        self._embeddings = embeddings
        self._answers: OrderedDict[Utterance, Judgement] = OrderedDict()
        self._capacity = capacity
        self._guard = threading.Lock()

    @property
    def embedded(self) -> int:
        """Texts the model embedded so far (the rest came from memory)."""
        return self._embeddings.embedded if self._embeddings else 0

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        return self.judge_sync(utterances)

    def judge_sync(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        known: dict[Utterance, Judgement] = {}
        with self._guard:
            for utterance in dict.fromkeys(utterances):
                answer = self._answers.get(utterance)
                if answer is not None:
                    self._answers.move_to_end(utterance)
                    known[utterance] = answer
        asked = [u for u in dict.fromkeys(utterances) if u not in known]
        if asked:
            fresh = self._judge.judge_sync(asked)
            with self._guard:
                for utterance, answer in zip(asked, fresh, strict=True):
                    known[utterance] = self._answers[utterance] = answer
                while len(self._answers) > self._capacity:
                    self._answers.popitem(last=False)
        return [known[utterance] for utterance in utterances]


@cache
def backtest_judge(use_model: bool = True) -> RememberingJudge:
    """The process's backtest judge (its memory outlives one backtest). No model time budget:
    a backtest's figures must not depend on how busy the machine was."""
    embeddings = RememberedEmbeddings(shared_embedder())
    judge = EmbeddedJudge(embedder=embeddings, use_model=use_model, model_time_share=None)
    judge.warm_up()
    return RememberingJudge(judge, embeddings)
