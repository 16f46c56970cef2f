"""Urgency and threat cue words used incidentally: a fault that is over ("it drains now!"), a
"today" that names the date, a social network named in praise, an English "brand" that is no
German fire. Sentences written for these tests, not from any labelled set."""

import pytest

from detector.language.lexical import read

URGENT = ("urg_now", "urg_deadline", "urg_time", "urg_now_weak")


def urgent_cues(text: str) -> dict[str, list[str]]:
    return {group: phrases for group, phrases in read(text).hits.items() if group in URGENT}


@pytest.mark.parametrize(
    "text",
    [
        "Cleaned the filter and it drains now! Thanks a lot",
        "Restarted the router and it works now!",
        "Reinicié el router y funciona ahora, gracias",
        "Merci, ça marche maintenant !",
        "I need to move my session: it's booked for Saturday the 14th and today's Sunday the 8th.",
        "Hoy es lunes, ¿tenéis cita para el jueves?",
    ],
)
def test_a_time_word_that_says_no_deadline_is_no_urgency(text: str) -> None:
    assert urgent_cues(text) == {}


@pytest.mark.parametrize(
    "text",
    [
        "I need it now!",
        "Fix it now!",
        "I need the replacement today, the party is tonight.",
        "Hoy es lunes y lo necesito para hoy",
    ],
)
def test_a_deadline_stays_urgent(text: str) -> None:
    assert urgent_cues(text)


def test_a_network_named_in_praise_is_no_threat() -> None:
    assert not read("Loved the video of the puppy you posted on Instagram 😂").has("threat_leave")


@pytest.mark.parametrize(
    "text",
    [
        "Broken again. I will post this on Instagram.",
        "Your blender broke after a week and I'm telling everyone on TikTok",
    ],
)
def test_a_network_named_with_trouble_is_a_threat(text: str) -> None:
    assert read(text).has("threat_leave")


@pytest.mark.parametrize(
    "text",
    [
        "What exactly happens if the parcel gets lost on the way?",
        "Was passiert eigentlich, wenn bei der Montage eine Fliese bricht?",
        "If my cat ever chewed the cable, what should we do?",
        "¿Qué pasa entonces si el vuelo se retrasa?",
        "O que acontece exatamente se a encomenda extraviar?",
    ],
)
def test_a_what_if_with_words_inside_is_a_what_if(text: str) -> None:
    assert read(text).has("hypothetical")


@pytest.mark.parametrize(
    "text",
    [
        "If it does not arrive by Friday I want my money back. Where is it?",
        "My dog ate grapes an hour ago, what should we do?",
        "The tile broke during the installation, who pays for it?",
    ],
)
def test_a_report_or_an_ultimatum_is_no_what_if(text: str) -> None:
    assert not read(text).has("hypothetical")


@pytest.mark.parametrize(
    "text",
    [
        "The movers scratched my brand-new dining table.",
        "Which brand of batteries does the remote take?",
    ],
)
def test_the_english_brand_is_no_german_fire(text: str) -> None:
    assert not read(text).has("safety")


@pytest.mark.parametrize(
    "text",
    [
        "Das Ladegerät hat einen Kabelbrand verursacht, überall sind Brandflecken.",
        "Der Toaster stand plötzlich in Brand!",
    ],
)
def test_a_german_fire_is_still_one(text: str) -> None:
    assert read(text).has("safety")
