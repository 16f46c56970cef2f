"""Feature vectors: what the shipped classifiers were trained on, value by value."""

import pytest

from detector.language.features import (
    _ANGER_COUNTS,
    _URGENCY_COUNTS,
    anger_features,
    intent_features,
    urgency_features,
)
from detector.language.intent import intent_rule
from detector.language.lexical import read

TEXTS = [
    "",
    "Thanks, that's all!",
    "This is the THIRD time I ask. Nobody answers, I'm sick of it. I want a manager NOW!!",
    "I need the refund today, I'm not waiting another two weeks. Useless, useless, useless.",
    "¡Es una vergüenza! Llevo dos semanas esperando y nadie me contesta.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_cue_counts_saturate_at_their_caps(text: str) -> None:
    reading = read(text)
    counts = reading.counts
    anger = anger_features(reading, ())[: len(_ANGER_COUNTS)]
    urgency = urgency_features(reading)[: len(_URGENCY_COUNTS)]
    assert anger == [min(counts.get(group, 0), cap) / cap for group, cap in _ANGER_COUNTS]
    assert urgency == [min(counts.get(group, 0), cap) / cap for group, cap in _URGENCY_COUNTS]


@pytest.mark.parametrize("text", TEXTS)
def test_intent_features_take_the_rule_the_judge_already_has(text: str) -> None:
    reading = read(text)
    keywords = ("manager", "refund")
    rule = intent_rule(reading, keywords)
    assert intent_features(reading, keywords, rule) == intent_features(reading, keywords)
