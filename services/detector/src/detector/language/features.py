"""Feature vectors the shipped classifiers read, built from lexical readings.

The same functions build the training matrices (``train.py``) and the inference inputs, so the
two can never drift apart. Values are bounded (mostly 0-1) so one learned weight fits all.
"""

from detector.language.intent import intent_rule
from detector.language.lexical import Reading, read, repeated_share
from detector.language.lexicon import fold


def _sat(count: int, cap: int = 2) -> float:
    return min(count, cap) / cap


_NEGATIVE = ("anger", "insult", "sarcasm", "angry_emoji", "threat_leave")

ANGER_FEATURES = (
    "anger", "insult", "sarcasm", "angry_emoji", "repeat", "threat_leave", "positive", "calm",
    "issue", "polite", "shout", "shout_negative", "shout_positive", "caps_words", "exclaim",
    "bangs", "elapsed", "repeated_trouble", "question", "negative_total",
)  # fmt: skip


def anger_features(reading: Reading, earlier: tuple[Reading, ...]) -> list[float]:
    """Anger/strong frustration cues of ``reading``, given the earlier customer messages."""
    negative = sum(reading.count(group) for group in _NEGATIVE)
    troubled = negative > 0 or reading.has("issue") or reading.has("repeat")
    positive = reading.has("positive")
    return [
        _sat(reading.count("anger"), 3),
        _sat(reading.count("insult")),
        _sat(reading.count("sarcasm")),
        _sat(reading.count("angry_emoji"), 1),
        _sat(reading.count("repeat"), 3),
        _sat(reading.count("threat_leave"), 1),
        _sat(reading.count("positive"), 3),
        _sat(reading.count("calm")),
        _sat(reading.count("issue"), 3),
        _sat(reading.count("polite")),
        reading.shout,
        reading.shout if troubled and not positive else 0.0,
        reading.shout if positive and not troubled else 0.0,
        _sat(reading.caps_words, 3),
        _sat(reading.exclaim),
        _sat(reading.bangs, 3),
        min(reading.elapsed_days / 14.0, 1.0),
        repeated_share(reading, earlier) if negative or reading.has("repeat") else 0.0,
        1.0 if reading.question else 0.0,
        _sat(negative, 4),
    ]


URGENCY_FEATURES = (
    "now", "deadline", "time", "need", "event", "critical", "relaxed", "soon", "threat",
    "shout", "caps_words", "exclaim", "question", "polite", "positive", "deadline_and_need",
    "negative", "emphatic_time", "demand",
)  # fmt: skip


def urgency_features(reading: Reading) -> list[float]:
    """Time-critical need cues of ``reading``."""
    timed = reading.has("urg_deadline") or reading.soon or reading.has("urg_time")
    needy = any(reading.has(g) for g in ("urg_need", "urg_now", "urg_critical", "urg_event"))
    threat = reading.has("legal_strong") or reading.has("threat_leave")
    negative = sum(reading.count(group) for group in _NEGATIVE)
    return [
        _sat(reading.count("urg_now")),
        _sat(reading.count("urg_deadline")),
        _sat(reading.count("urg_time")),
        _sat(reading.count("urg_need")),
        _sat(reading.count("urg_event")),
        _sat(reading.count("urg_critical")),
        _sat(reading.count("relaxed")),
        1.0 if reading.soon else 0.0,
        1.0 if threat else 0.0,
        reading.shout,
        _sat(reading.caps_words, 3),
        _sat(reading.exclaim),
        1.0 if reading.question else 0.0,
        _sat(reading.count("polite")),
        _sat(reading.count("positive"), 3),
        1.0 if timed and needy else 0.0,
        _sat(negative, 3),
        1.0 if reading.emphatic_time else 0.0,
        1.0 if reading.demand else 0.0,
    ]


_STRONG_ANGER = ("anger", "insult", "angry_emoji", "sarcasm", "threat_leave")
_URGENCY_GROUPS = ("urg_now", "urg_deadline", "urg_time", "urg_need", "urg_event", "urg_critical")


_ANGER_CUES = (*_STRONG_ANGER, "issue", "repeat", "damaged", "delivery_problem")


def anger_has_cues(reading: Reading) -> bool:
    """Anything that could be frustration; without it, the message is not sent to the model."""
    return (
        any(reading.has(g) for g in _ANGER_CUES)
        or reading.caps_words > 0
        or reading.exclaim > 0
        or reading.bangs >= 2
        or reading.elapsed_days >= 2
    )


def urgency_has_cues(reading: Reading) -> bool:
    """Anything that could be a time-critical need."""
    return (
        any(reading.has(g) for g in _URGENCY_GROUPS)
        or reading.soon
        or reading.emphatic_time
        or reading.demand
    )


def anger_is_evident(reading: Reading) -> bool:
    """Enough to trust a lexical "angry": one exclamation mark or complaint word never is."""
    troubled = reading.has("issue") or reading.has("repeat")
    return any(reading.has(g) for g in _STRONG_ANGER) or (reading.shout >= 0.5 and troubled)


def urgency_is_evident(reading: Reading) -> bool:
    """Enough to trust a lexical "urgent": two kinds of cue ("need" and "by tomorrow"), a
    deadline within hours, or an immediate demand. "Wedding" or "today" alone never is."""
    kinds = sum(reading.has(g) for g in _URGENCY_GROUPS) + reading.soon
    return kinds >= 2 or reading.demand or (reading.soon and reading.has("urg_need"))


INTENT_FEATURES = (
    "rule", "certain", "phrase_keyword", "extended_word", "question", "shout", "now", "anger",
    "positive", "human_request", "legal_strong", "refund_want", "cancel", "polite",
)  # fmt: skip


def intent_features(reading: Reading, keywords: tuple[str, ...]) -> list[float]:
    """Whether the keyword hits in ``reading`` are a real request (features for its keywords)."""
    rule = intent_rule(reading, keywords)
    keyword = fold(keywords[0]).strip() if keywords else ""
    at = reading.folded.find(keyword) if keyword else -1
    end = at + len(keyword)
    extended = 0 <= at and end < len(reading.folded) and reading.folded[end].isalnum()
    return [
        rule.score,
        1.0 if rule.certain else 0.0,
        1.0 if " " in keyword else 0.0,
        1.0 if extended else 0.0,
        1.0 if reading.question else 0.0,
        reading.shout,
        _sat(reading.count("urg_now")),
        _sat(reading.count("anger") + reading.count("insult")),
        _sat(reading.count("positive"), 3),
        _sat(reading.count("human_request")),
        _sat(reading.count("legal_strong")),
        _sat(reading.count("refund_want")),
        _sat(reading.count("cancel")),
        _sat(reading.count("polite")),
    ]


def readings(texts: tuple[str, ...]) -> tuple[Reading, ...]:
    return tuple(read(text) for text in texts)
