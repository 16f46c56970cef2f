"""Feature vectors the shipped classifiers read, built from lexical readings.

The same functions build the training matrices (``train.py``) and the inference inputs, so the
two can never drift apart. Values are bounded (mostly 0-1) so one learned weight fits all.
"""

import re

from detector.language.intent import IntentRule, intent_rule
from detector.language.lexical import Reading, read, repeated_share
from detector.language.lexicon import cue_lexicon, fold


def _sat(count: int, cap: int = 2) -> float:
    return min(count, cap) / cap


class _Saturated:
    """``min(count, cap) / cap`` for each ``(group, cap)`` of a fixed spec, 0.0 for the groups
    absent. Runs for every message and a message has few groups, so it visits those only."""

    def __init__(self, spec: tuple[tuple[str, int], ...]) -> None:
        self._slots = {group: (index, cap) for index, (group, cap) in enumerate(spec)}
        self._zeros = [0.0] * len(spec)

    def __call__(self, counts: dict[str, int]) -> list[float]:
        values = self._zeros.copy()
        slots = self._slots
        for group, count in counts.items():
            slot = slots.get(group)
            if slot is not None:
                index, cap = slot
                values[index] = min(count, cap) / cap
        return values


def _negative(counts: dict[str, int]) -> int:
    return (
        counts.get("anger", 0)
        + counts.get("insult", 0)
        + counts.get("sarcasm", 0)
        + counts.get("angry_emoji", 0)
        + counts.get("threat_leave", 0)
    )


ANGER_FEATURES = (
    "anger", "insult", "sarcasm", "angry_emoji", "repeat", "threat_leave", "positive", "calm",
    "issue", "polite", "shout", "shout_negative", "shout_positive", "caps_words", "exclaim",
    "bangs", "elapsed", "repeated_trouble", "question", "negative_total",
)  # fmt: skip
_ANGER_COUNTS = (
    ("anger", 3), ("insult", 2), ("sarcasm", 2), ("angry_emoji", 1), ("repeat", 3),
    ("threat_leave", 1), ("positive", 3), ("calm", 2), ("issue", 3), ("polite", 2),
)  # fmt: skip
_anger_counts = _Saturated(_ANGER_COUNTS)


def anger_features(reading: Reading, earlier: tuple[Reading, ...]) -> list[float]:
    """Anger/strong frustration cues of ``reading``, given the earlier customer messages."""
    counts = reading.counts
    negative = _negative(counts)
    repeat = "repeat" in counts
    troubled = negative > 0 or "issue" in counts or repeat
    positive = "positive" in counts
    shout = reading.shout
    return [
        *_anger_counts(counts),
        shout,
        shout if troubled and not positive else 0.0,
        shout if positive and not troubled else 0.0,
        min(reading.caps_words, 3) / 3,
        min(reading.exclaim, 2) / 2,
        min(reading.bangs, 3) / 3,
        min(reading.elapsed_days / 14.0, 1.0),
        repeated_share(reading, earlier) if negative or repeat else 0.0,
        1.0 if reading.question else 0.0,
        min(negative, 4) / 4,
    ]


URGENCY_FEATURES = (
    "now", "deadline", "time", "need", "event", "critical", "relaxed", "soon", "threat",
    "shout", "caps_words", "exclaim", "question", "polite", "positive", "deadline_and_need",
    "negative", "emphatic_time", "demand", "now_weak",
)  # fmt: skip
_URGENCY_COUNTS = (
    ("urg_now", 2), ("urg_deadline", 2), ("urg_time", 2), ("urg_need", 2), ("urg_event", 2),
    ("urg_critical", 2), ("relaxed", 2),
)  # fmt: skip
_urgency_counts = _Saturated(_URGENCY_COUNTS)


def urgency_features(reading: Reading) -> list[float]:
    """Time-critical need cues of ``reading``."""
    counts = reading.counts
    timed = "urg_deadline" in counts or reading.soon or "urg_time" in counts
    needy = (
        "urg_need" in counts
        or "urg_now" in counts
        or "urg_critical" in counts
        or "urg_event" in counts
    )
    threat = "legal_strong" in counts or "threat_leave" in counts
    return [
        *_urgency_counts(counts),
        1.0 if reading.soon else 0.0,
        1.0 if threat else 0.0,
        reading.shout,
        min(reading.caps_words, 3) / 3,
        min(reading.exclaim, 2) / 2,
        1.0 if reading.question else 0.0,
        min(counts.get("polite", 0), 2) / 2,
        min(counts.get("positive", 0), 3) / 3,
        1.0 if timed and needy else 0.0,
        min(_negative(counts), 3) / 3,
        1.0 if reading.emphatic_time else 0.0,
        1.0 if reading.demand else 0.0,
        1.0 if "urg_now_weak" in counts else 0.0,
    ]


_STRONG_ANGER = ("anger", "insult", "angry_emoji", "sarcasm", "threat_leave")
_URGENCY_GROUPS = ("urg_now", "urg_deadline", "urg_time", "urg_need", "urg_event", "urg_critical")
# Cues that carry a need or a deadline by themselves; "today", "wedding", "now" do not.
_STRONG_URGENCY = ("urg_now", "urg_deadline", "urg_need", "urg_critical")
_ANGER_CUES = (*_STRONG_ANGER, "issue", "repeat", "damaged", "delivery_problem")


def anger_has_cues(reading: Reading) -> bool:
    """Anything that could be frustration; without it, the message is not sent to the model."""
    counts = reading.counts
    return (
        any(group in counts for group in _ANGER_CUES)
        or reading.caps_words > 0
        or reading.exclaim > 0
        or reading.bangs >= 2
        or reading.elapsed_days >= 2
    )


def urgency_has_cues(reading: Reading) -> bool:
    """Anything that could be a time-critical need."""
    counts = reading.counts
    return (
        any(group in counts for group in _URGENCY_GROUPS)
        or "urg_now_weak" in counts
        or reading.soon
        or reading.emphatic_time
        or reading.demand
    )


def anger_is_evident(reading: Reading) -> bool:
    """Enough to trust a lexical "angry": one exclamation mark or complaint word never is, nor
    an angry word among happy signs with no trouble told ("THIS DRESS IS INSANE 😍", "ridiculous
    😂"): delight borrows anger's words, so the model reads those."""
    counts = reading.counts
    troubled = "issue" in counts or "repeat" in counts
    if not troubled and ("positive" in counts or "playful" in counts):
        return False
    return any(group in counts for group in _STRONG_ANGER) or (reading.shout >= 0.5 and troubled)


def urgency_is_evident(reading: Reading) -> bool:
    """Enough to trust a lexical "urgent": two kinds of cue, one of them strong ("need" and
    "by tomorrow"), a deadline within hours with a need, or an immediate demand. "Wedding",
    "today" or "now" never are, alone or together."""
    counts = reading.counts
    kinds = sum(group in counts for group in _URGENCY_GROUPS) + reading.soon
    strong = reading.soon or any(group in counts for group in _STRONG_URGENCY)
    return (kinds >= 2 and strong) or reading.demand or (reading.soon and "urg_need" in counts)


# "anyway", "en fin", "egal", "bref", "enfim": the customer leaves what they vented about.
_MOVING_ON = re.compile(
    r"\b(anyway|anyways|anyhow|en fin|de todos modos|egal|wie auch immer|jedenfalls|bref|"
    r"enfim|de qualquer forma|de qualquer jeito)\b"
)
_TROUBLE = (
    "anger",
    "issue",
    "repeat",
    "damaged",
    "delivery_problem",
    "threat_leave",
    "refund_want",
    "human_request",
    "legal_strong",
    "cancel",
)


def anger_moved_on(reading: Reading) -> bool:
    """A jab in passing ("the site is garbage on mobile 🙄 anyway, does it run big?"): rude
    words or an eye-roll, then "anyway" and a plain question, with nothing gone wrong to fix
    and nothing asked of a person. The customer has moved on; no human is needed for it."""
    counts = reading.counts
    if reading.shout >= 0.5 or any(group in counts for group in _TROUBLE):
        return False
    ends = [match.end() for match in _MOVING_ON.finditer(reading.folded)]
    if not ends:
        return False
    rest = reading.folded[ends[-1] :]
    after = cue_lexicon().scan(rest)
    return rest.rstrip().endswith("?") and not any(group in after for group in _STRONG_ANGER)


def urgency_is_idle_question(reading: Reading) -> bool:
    """A question whose only time cues are an occasion or a day ("for our office party", "if I
    order today", "a 12-hour shift") and no trouble reported: a customer planning a purchase,
    with no need or deadline the shop is failing. Such a message is never an urgent need."""
    counts = reading.counts
    return (
        reading.question
        and not reading.soon
        and not reading.demand
        and not reading.emphatic_time
        and not any(group in counts for group in _STRONG_URGENCY)
        and not any(group in counts for group in _ANGER_CUES)
    )


INTENT_FEATURES = (
    "rule", "certain", "phrase_keyword", "extended_word", "question", "shout", "now", "anger",
    "positive", "human_request", "legal_strong", "refund_want", "cancel", "polite",
)  # fmt: skip


def intent_features(
    reading: Reading, keywords: tuple[str, ...], rule: IntentRule | None = None
) -> list[float]:
    """Whether the keyword hits in ``reading`` are a real request (features for its keywords).

    ``rule``: ``intent_rule(reading, keywords)`` when the caller has it already."""
    if rule is None:
        rule = intent_rule(reading, keywords)
    keyword = fold(keywords[0]).strip() if keywords else ""
    at = reading.folded.find(keyword) if keyword else -1
    end = at + len(keyword)
    extended = at >= 0 and end < len(reading.folded) and reading.folded[end].isalnum()
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


REPORT_GROUPS = ("hypothetical", "denied", "shopping", "all_fine", "mild")
"""Cue groups of what is no report of the customer's own trouble (``report_features``)."""


def report_features(reading: Reading) -> list[float]:
    """The lexical side of "does this message report the customer's own situation?": a
    question, and the cue groups of a "what if", a denial, a shopper, all being fine or small
    (the embedding carries the rest: whose problem it is, whether it is over)."""
    return [1.0 if reading.question else 0.0] + [
        1.0 if reading.has(group) else 0.0 for group in REPORT_GROUPS
    ]


def readings(texts: tuple[str, ...]) -> tuple[Reading, ...]:
    return tuple(read(text) for text in texts)
