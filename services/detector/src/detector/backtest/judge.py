"""The language judge of backtests: the detector's embedded judge, remembering what it read.

A backtest replays the same messages under several configurations, and merchants rerun it as
they edit a draft. The embedding model costs ~20 ms a message, the lexical reading ~0.1 ms:
each text is embedded once per process (a bounded LRU of vectors), and a question asked again
(same text, context, keywords found and conditions) is answered from memory.

Blocking: run backtests in a worker thread, never on an event loop.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from functools import cache
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from detector.language import Judgement, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.model import EMBEDDING_DIM, Embedder, Vector, shared_embedder

EMBEDDINGS_KEPT = 50_000
"""About 75 MB of float32 vectors at most."""
JUDGEMENTS_KEPT = 200_000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memory(Generic[K, V]):
    """A bounded, thread-safe LRU that computes only what it does not hold. The computation
    runs outside its lock: a slow model call does not hold up threads that find their
    answers in memory."""

    def __init__(self, capacity: int) -> None:
        self._values: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity
        self._guard = threading.Lock()
        self.computed = 0
        """Keys computed so far (the rest came from memory)."""

    def recall(self, keys: Sequence[K], compute: Callable[[list[K]], Sequence[V]]) -> list[V]:
        """The value of each of ``keys``, in order; ``compute`` is given the missing ones,
        each once."""
        found: dict[K, V] = {}
        with self._guard:
            for key in dict.fromkeys(keys):
                value = self._values.get(key)
                if value is not None:
                    self._values.move_to_end(key)
                    found[key] = value
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            values = compute(missing)
            with self._guard:
                self.computed += len(missing)
                for key, value in zip(missing, values, strict=True):
                    found[key] = self._values[key] = value
                while len(self._values) > self._capacity:
                    self._values.popitem(last=False)
        return [found[key] for key in keys]


class RememberedEmbeddings(Embedder):
    """The shared model's embeddings, each text embedded once while it stays in memory."""

    def __init__(self, model: Embedder, capacity: int = EMBEDDINGS_KEPT) -> None:
        super().__init__(num_threads=1, cache_size=0)
        self._source = model
        self._vectors: Memory[str, Vector] = Memory(capacity)

    @property
    def embedded(self) -> int:
        """Texts the model embedded for backtests (the rest came from memory)."""
        return self._vectors.computed

    def load(self) -> None:
        self._source.load()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self._vectors.recall(texts, lambda missing: list(self._source.embed(missing)))
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, vector in enumerate(vectors):
            out[row] = vector
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
        self._answers: Memory[Utterance, Judgement] = Memory(capacity)

    @property
    def embedded(self) -> int:
        """Texts the model embedded so far (the rest came from memory)."""
        return self._embeddings.embedded if self._embeddings else 0

    async def judge(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        return self.judge_sync(utterances)

    def judge_sync(self, utterances: Sequence[Utterance]) -> list[Judgement]:
        return self._answers.recall(utterances, self._judge.judge_sync)


@cache
def backtest_judge(use_model: bool = True) -> RememberingJudge:
    """The process's backtest judge (its memory outlives one backtest). No model time budget:
    a backtest's figures must not depend on how busy the machine was."""
    embeddings = RememberedEmbeddings(shared_embedder())
    judge = EmbeddedJudge(embedder=embeddings, use_model=use_model, model_time_share=None)
    judge.warm_up()
    return RememberingJudge(judge, embeddings)
