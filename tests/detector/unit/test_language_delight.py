"""Delight that borrows anger's words ("INSANE 😍", "ridiculous 😂") is not anger, and anger
that borrows delight's ("great, thanks a lot") still is (sentences written for these tests)."""

import pytest

from detector.language import Utterance
from detector.language.drafts import draft
from detector.language.embedded import EmbeddedJudge
from detector.language.lexical import read
from detector.language.model import shipped_weights

HEARTS = ["💛", "💙", "💚", "💜", "🧡", "🤍", "🩷", "💖", "💗", "💓", "💞", "🫶"]

DELIGHTED = [
    "OMG THIS DRESS IS INSANE 😍😍 IS THE BLUE ONE BACK IN STOCK???",
    "THESE PHOTOS ARE RIDICULOUS 😂😂 BEST WEDDING ALBUM EVER",
]

ANGRY_IN_KIND_WORDS = [
    "Great, thanks a lot. Third week and still no refund. Absolutely ridiculous.",
    "oh wonderful, another 'we're on it' 🙄 you said that on Monday too",
]


@pytest.mark.parametrize("heart", HEARTS)
def test_a_heart_of_any_colour_is_a_happy_sign(heart: str) -> None:
    assert read(f"the parcel came today {heart}").counts.get("positive") == 1


@pytest.mark.parametrize("text", DELIGHTED)
def test_an_angry_word_among_happy_signs_is_for_the_model_to_read(text: str) -> None:
    # The cues read these as certainly angry (0.97 and 1.00) and never asked the model.
    estimate = draft(Utterance(text=text), shipped_weights()).anger
    assert not estimate.evident
    assert estimate.uncertain


@pytest.mark.parametrize("text", DELIGHTED)
def test_delight_in_capitals_is_not_anger(judge: EmbeddedJudge, text: str) -> None:
    assert not judge.judge_sync([Utterance(text=text)])[0].anger.present


@pytest.mark.parametrize("text", ANGRY_IN_KIND_WORDS)
def test_anger_in_kind_words_stays_evident(judge: EmbeddedJudge, text: str) -> None:
    assert draft(Utterance(text=text), shipped_weights()).anger.evident
    assert judge.judge_sync([Utterance(text=text)])[0].anger.present
