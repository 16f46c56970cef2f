"""Praise words that are sarcastic only about a problem (messages written for these tests)."""

import pytest

from detector.language import Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.lexical import read


@pytest.mark.parametrize(
    "text",
    [
        "Genius idea, I'll take two of the mugs.",
        "Bravo, the parcel came a day early!",
        "Wie immer super Qualität, danke!",
        "Comme toujours, livraison impeccable.",
    ],
)
def test_sincere_praise_is_not_anger(judge: EmbeddedJudge, text: str) -> None:
    assert "sarcasm" not in read(text).hits
    assert not judge.judge_sync([Utterance(text=text)])[0].anger.present


@pytest.mark.parametrize(
    "text",
    [
        "Genius. The replacement is broken too.",
        "As usual, still no tracking number and nobody answers.",
    ],
)
def test_the_same_praise_about_a_problem_is_sarcasm(judge: EmbeddedJudge, text: str) -> None:
    assert "sarcasm" in read(text).hits
    assert judge.judge_sync([Utterance(text=text)])[0].anger.present
