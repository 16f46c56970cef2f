"""``python -m detector.language.train``: regenerate ``data/weights.npz`` from the corpus.

Reproducible: fixed seed, deterministic solvers, the corpus in ``data/corpus/`` and the
bundled embedding model. Needs scikit-learn (a dev dependency); inference needs only numpy.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import (  # type: ignore[import-untyped]
    StratifiedKFold,
    cross_val_predict,
)

from detector.language.conditions import (
    Clause,
    embed_clauses,
    neutral_prototypes,
    plan,
    relation_features,
)
from detector.language.features import (
    anger_features,
    intent_features,
    readings,
    urgency_features,
)
from detector.language.lexical import read
from detector.language.model import WEIGHTS_FILE, Calibration, Embedder
from escalator_schemas.config import TriggerCondition

SEED = 20260101
Matrix = npt.NDArray[np.float64]


def _corpus(name: str) -> list[dict[str, Any]]:
    path = resources.files("detector.language").joinpath("data", "corpus", name)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _standardise(x: Matrix) -> tuple[Matrix, Matrix]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def _fit(x: Matrix, y: npt.NDArray[np.int_], c: float, prefix: str) -> dict[str, Any]:
    mean, scale = _standardise(x)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y)
    return {
        f"{prefix}.w": model.coef_[0],
        f"{prefix}.b": np.float64(model.intercept_[0]),
        f"{prefix}.mean": mean,
        f"{prefix}.scale": scale,
    }


def _cv_probabilities(x: Matrix, y: npt.NDArray[np.int_], c: float) -> Matrix:
    mean, scale = _standardise(x)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    model = LogisticRegression(C=c, max_iter=5000)
    return np.asarray(
        cross_val_predict(model, (x - mean) / scale, y, cv=folds, method="predict_proba")[:, 1]
    )


def _band(probabilities: Matrix, y: npt.NDArray[np.int_]) -> tuple[float, float]:
    """The lexical probabilities outside which the cheap answer is good enough: below ``low``
    lie at most 8% of the positives (recall), above ``high`` at least 97% are positives
    (precision). In between, the embedding model is consulted. The recall side is the looser
    one on purpose: most traffic is calm, so a low ``low`` would send most of it to the model,
    and the corpus over-represents angry messages without any cue word."""
    positives = np.sort(probabilities[y == 1])
    low = float(positives[int(len(positives) * 0.08)]) if len(positives) else 0.3
    high = 0.95
    for threshold in np.arange(0.95, 0.5, -0.01):
        above = probabilities > threshold
        if above.any() and float(np.mean(y[above] == 0)) > 0.03:
            break
        high = float(threshold)
    return min(max(low, 0.05), 0.4), max(high, 0.6)


def _report(name: str, probabilities: Matrix, y: npt.NDArray[np.int_]) -> None:
    predicted = probabilities >= 0.5
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    sys.stdout.write(f"  {name:<22} cv precision {precision:.2f} recall {recall:.2f}\n")


def _task(
    name: str,
    lexical: Matrix,
    embeddings: Matrix,
    y: npt.NDArray[np.int_],
    c_full: float = 0.3,
) -> dict[str, Any]:
    full = np.hstack([embeddings, lexical])
    lexical_cv = _cv_probabilities(lexical, y, 1.0)
    full_cv = _cv_probabilities(full, y, c_full)
    low, high = _band(lexical_cv, y)
    mixed = np.where((lexical_cv >= low) & (lexical_cv <= high), full_cv, lexical_cv)
    sys.stdout.write(
        f"{name}: {len(y)} examples, {int(y.sum())} positive, band {low:.2f}-{high:.2f}\n"
    )
    _report("lexical", lexical_cv, y)
    _report("lexical+embedding", full_cv, y)
    _report("banded (as shipped)", mixed, y)
    share = float(np.mean((lexical_cv >= low) & (lexical_cv <= high)))
    sys.stdout.write(f"  model consulted on {share:.0%} of the examples\n")
    arrays = _fit(lexical, y, 1.0, f"{name}.lexical") | _fit(full, y, c_full, f"{name}.full")
    arrays[f"{name}.band"] = np.array([low, high])
    return arrays


def _matrix(rows: Sequence[Sequence[float]]) -> Matrix:
    return np.asarray(rows, dtype=np.float64)


def _labels(rows: Sequence[dict[str, Any]], key: str) -> npt.NDArray[np.int_]:
    return np.asarray([int(row[key]) for row in rows], dtype=np.int_)


def _calibration(
    embed: Callable[[list[str]], Matrix], messages: list[dict[str, Any]]
) -> Calibration:
    calm = [m["text"] for m in messages if not (m["anger"] or m["urgency"] or m["legal"])]
    return Calibration(
        calm_bank=embed(calm).astype(np.float16).astype(np.float32),
        neutral=embed(list(neutral_prototypes())).astype(np.float16).astype(np.float32),
    )


def _relation(
    embedder: Embedder, calibration: Calibration, rows: list[dict[str, Any]]
) -> tuple[Matrix, npt.NDArray[np.int_]]:
    """Features of the clauses similarity judges at run time: those no concept detector covers
    (conditions with a concept clause are left out: their label is about the concept)."""
    features = []
    rows = [
        row
        for row in rows
        if all(
            clause.generic
            for clause in plan(TriggerCondition(label="c", description=row["condition"])).clauses
        )
    ]
    messages = embedder.embed([row["text"] for row in rows])
    for row, vector in zip(rows, messages, strict=True):
        condition_plan = plan(TriggerCondition(label="c", description=row["condition"]))
        embed_clauses(condition_plan, embedder, calibration)
        reading = read(row["text"])

        def z(clause: Clause, p: Any = condition_plan, v: Any = vector, r: Any = reading) -> float:
            return relation_features(p, clause, v, r, calibration.neutral)[1]

        best = max(condition_plan.clauses, key=z)
        features.append(
            relation_features(condition_plan, best, vector, reading, calibration.neutral)
        )
    return _matrix(features), _labels(rows, "match")


def _ordinary_pairs(messages: list[dict[str, Any]], per_condition: int = 6) -> list[dict[str, Any]]:
    """Calm corpus messages paired with each condition as non-matches: most traffic is about
    nothing a condition names, and similarity must learn that too (fixed seed)."""
    rng = np.random.default_rng(SEED)
    calm = [m for m in messages if not (m["anger"] or m["urgency"] or m["legal"])]
    conditions = sorted({row["condition"] for row in _corpus("conditions.jsonl")})
    pairs = []
    for condition in conditions:
        for index in rng.choice(len(calm), size=per_condition, replace=False):
            message = calm[int(index)]
            pairs.append(
                {"condition": condition, "text": message["text"], "earlier": [], "match": 0}
            )
    return pairs


def _precise_shift(probabilities: Matrix, y: npt.NDArray[np.int_], precision: float) -> float:
    """The logit shift that puts the match threshold (0.5) where cross-validated precision
    reaches ``precision``: similarity alone must be sure before it escalates anything."""
    for threshold in np.arange(0.5, 0.96, 0.01):
        chosen = probabilities >= threshold
        if chosen.any() and float(np.mean(y[chosen] == 1)) >= precision:
            return float(np.log(threshold / (1 - threshold)))
    return float(np.log(0.95 / 0.05))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    default_out = Path(str(resources.files("detector.language").joinpath("data", WEIGHTS_FILE)))
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    np.random.seed(SEED)

    # Two engine threads: fixed, so that the embeddings (and the weights) come out the same.
    embedder = Embedder(num_threads=2, cache_size=100_000)

    def embed(texts: list[str]) -> Matrix:
        return np.asarray(embedder.embed(texts), dtype=np.float64)

    messages = _corpus("messages.jsonl")
    message_vectors = embed([m["text"] for m in messages])
    current = [read(m["text"]) for m in messages]
    earlier = [readings(tuple(m["earlier"])) for m in messages]
    arrays: dict[str, Any] = {}
    arrays |= _task(
        "anger",
        _matrix([anger_features(r, e) for r, e in zip(current, earlier, strict=True)]),
        message_vectors,
        _labels(messages, "anger"),
    )
    arrays |= _task(
        "urgency",
        _matrix([urgency_features(r) for r in current]),
        message_vectors,
        _labels(messages, "urgency"),
    )
    intents = _corpus("keyword_intent.jsonl")
    arrays |= _task(
        "intent",
        _matrix([intent_features(read(i["text"]), (i["keyword"],)) for i in intents]),
        embed([i["text"] for i in intents]),
        _labels(intents, "intent"),
    )
    calibration = _calibration(embed, messages)
    relation_x, relation_y = _relation(
        embedder, calibration, _corpus("conditions.jsonl") + _ordinary_pairs(messages)
    )
    sys.stdout.write(f"relation: {len(relation_y)} examples, {int(relation_y.sum())} positive\n")
    relation_cv = _cv_probabilities(relation_x, relation_y, 1.0)
    for threshold in (0.5, 0.6, 0.7, 0.8):
        _report(f"relation >= {threshold}", (relation_cv >= threshold).astype(float), relation_y)
    shift = _precise_shift(relation_cv, relation_y, 0.9)
    _report("relation", relation_cv, relation_y)
    _report(
        "relation (shifted)",
        1 / (1 + np.exp(-(np.log(relation_cv / (1 - relation_cv)) - shift))),
        relation_y,
    )
    arrays |= _fit(relation_x, relation_y, 1.0, "relation")
    arrays["relation.b"] = arrays["relation.b"] - shift
    arrays |= {
        "calm_bank": calibration.calm_bank.astype(np.float16),
        "neutral": calibration.neutral.astype(np.float16),
    }
    np.savez_compressed(args.out, **arrays)
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
