"""A greeting opens angry and calm messages alike: it says nothing of the customer's mood
(sentences written for these tests)."""

import pytest

from detector.language import Utterance
from detector.language.drafts import draft
from detector.language.embedded import EmbeddedJudge
from detector.language.model import shipped_weights

GREETED = [
    ("Hi,", "third time I'm asking where my parcel is. Same copy-paste answer every time."),
    ("Hello,", "oh great, another 'we're looking into it'. That's what you said last week too 🙄"),
    ("Hola,", "otra vez la misma respuesta automática. Llevo una semana esperando, nadie ayuda."),
    ("Hallo,", "das ist jetzt das dritte Mal, dass ich schreibe. Langsam reicht es mir wirklich."),
    ("Bonjour,", "toujours aucune réponse à ma réclamation. C'est vraiment n'importe quoi."),
    ("Olá,", "já é a terceira vez que pergunto pela encomenda. Ninguém responde, que vergonha."),
]


@pytest.mark.parametrize(("greeting", "text"), GREETED)
def test_the_cues_read_the_same_mood_with_or_without_a_greeting(greeting: str, text: str) -> None:
    weights = shipped_weights()
    plain = draft(Utterance(text=text[0].upper() + text[1:]), weights)
    greeted = draft(Utterance(text=f"{greeting} {text}"), weights)
    assert greeted.anger.probability == pytest.approx(plain.anger.probability, abs=0.02)
    assert greeted.urgency.probability == pytest.approx(plain.urgency.probability, abs=0.02)


@pytest.mark.parametrize(
    "text",
    [
        "fantastic, the exact same reply again, word for word. What a marvel of technology 👏",
        "still no reply since Tuesday. honestly just put me through to a human",
    ],
)
def test_an_angry_message_that_starts_with_hi_is_still_angry(
    judge: EmbeddedJudge, text: str
) -> None:
    # Both read as calm (anger 0.09 and 0.12) while "hi" counted as politeness.
    assert judge.judge_sync([Utterance(text=f"Hi, {text}")])[0].anger.present
