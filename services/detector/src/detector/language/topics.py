"""Topic and area of a conversation from cue words (no model: it is needed for every message)."""

from functools import lru_cache

from detector.language.lexical import Reading
from detector.language.lexicon import topic_lexicon
from escalator_schemas.classification import Area, Topic

# When cue counts tie, the more specific reading wins (a refund is also a payment).
_TOPIC_ORDER = (
    Topic.REFUND, Topic.COMPLAINT, Topic.ACCOUNT, Topic.BILLING, Topic.TECHNICAL,
    Topic.SHIPPING, Topic.PRODUCT,
)  # fmt: skip
_AREA_ORDER = (Area.ACCOUNT, Area.PAYMENT, Area.DELIVERY, Area.ORDER, Area.PRODUCT)
_NEWEST_WEIGHT = 1.5
_MIN_SCORE = 0.9


@lru_cache(maxsize=16384)
def _hits(folded: str) -> dict[str, list[str]]:
    return topic_lexicon().scan(folded)


def _scores(texts: list[tuple[Reading, float]], prefix: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for reading, weight in texts:
        for group, phrases in _hits(reading.folded).items():
            if group.startswith(prefix):
                name = group.removeprefix(prefix)
                totals[name] = totals.get(name, 0.0) + weight * min(len(phrases), 3)
    return totals


def classify(current: Reading, earlier: tuple[Reading, ...]) -> tuple[Topic, Area]:
    """The conversation's topic and area, weighting the newest customer message most."""
    weighted = [(reading, 1.0) for reading in earlier] + [(current, _NEWEST_WEIGHT)]
    topic_scores = _scores(weighted, "topic.")
    area_scores = _scores(weighted, "area.")
    topic = max(
        _TOPIC_ORDER,
        key=lambda t: (topic_scores.get(t.value, 0.0), -_TOPIC_ORDER.index(t)),
    )
    area = max(
        _AREA_ORDER,
        key=lambda a: (area_scores.get(a.value, 0.0), -_AREA_ORDER.index(a)),
    )
    return (
        topic if topic_scores.get(topic.value, 0.0) >= _MIN_SCORE else Topic.OTHER,
        area if area_scores.get(area.value, 0.0) >= _MIN_SCORE else Area.OTHER,
    )
