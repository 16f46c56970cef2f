"""Capitals that are a keyboard's doing are not shouting (sentences written for these tests)."""

from detector.language import Utterance
from detector.language.embedded import EmbeddedJudge


def angry(judge: EmbeddedJudge, text: str, *earlier: str) -> bool:
    return judge.judge_sync([Utterance(text=text, earlier=earlier)])[0].anger.present


def test_caps_lock_announced_in_the_message(judge: EmbeddedJudge) -> None:
    text = "MY CAPS LOCK KEY IS JAMMED, SORRY. THE LID OF MY TEAPOT IS STUCK, HOW DO I OPEN IT"
    assert not angry(judge, text)


def test_caps_lock_announced_earlier(judge: EmbeddedJudge) -> None:
    earlier = "hello, excuse the caps, my laptop is acting up"
    assert not angry(judge, "THE PARCEL IS LATE, WHEN WILL IT COME", earlier)


def test_shouting_without_an_excuse_is_still_anger(judge: EmbeddedJudge) -> None:
    assert angry(judge, "THE LID IS STUCK AND NOBODY HAS ANSWERED ME IN A WEEK. UNACCEPTABLE")
