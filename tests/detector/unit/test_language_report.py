"""Whether a message reports the customer's own situation (the report classifier, trained on
``speech_acts.jsonl``), and what that does to trigger conditions judged by similarity. The
messages are written for these tests."""

import numpy as np
import pytest

from detector.language import Utterance, matching
from detector.language.embedded import EmbeddedJudge
from detector.language.features import report_features
from detector.language.lexical import read
from detector.language.model import shipped_weights
from escalator_schemas.config import TriggerCondition


def reported(judge: EmbeddedJudge, text: str) -> float:
    vector = judge.embedder.embed([text])[0]
    features = np.concatenate([vector, np.asarray(report_features(read(text)))])
    return shipped_weights().report.probability(features)


@pytest.mark.parametrize(
    "text",
    [
        "Mi tarjeta fue cobrada dos veces por el mismo pedido, necesito que lo arreglen ya",
        "Mein Internet ist seit gestern Abend komplett tot, ich arbeite von zu Hause",
        "Ma machine à laver fuit depuis la livraison, il y a de l'eau partout",
    ],
)
def test_the_customers_own_trouble_is_a_report(judge: EmbeddedJudge, text: str) -> None:
    assert reported(judge, text) > 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Mi hermano dice que a él le cobraron dos veces, ¿os pasa a menudo?",  # someone else's
        "Was passiert, wenn mein Internet ausfällt, bekomme ich dann Geld zurück?",  # what if
        "La fuite a été réparée hier par votre technicien, tout va bien maintenant",  # solved
        "Is it true you charge twice when a payment is retried?",  # a policy question
    ],
)
def test_the_same_subjects_told_otherwise_are_no_report(judge: EmbeddedJudge, text: str) -> None:
    assert reported(judge, text) < matching.REPORT_FLOOR


@pytest.mark.parametrize(
    "text",
    [
        "Hola, ¿tenéis hueco para un corte y peinado el jueves por la tarde?",
        "Hallo, habt ihr am Samstag noch einen Termin frei?",
        pytest.param(
            "Habt ihr die Trailschuhe noch in Größe 44?",
            marks=pytest.mark.xfail(
                strict=True,
                reason="a known miss: 0.21 with the shipped weights ('Habt ihr die Laufschuhe noch"
                " auf Lager?' reads 0.02)",
            ),
        ),
        "Quelle litière vous me conseillez pour un chaton de 3 mois ?",
        "vcs entregam ração no sábado de manhã?",
        "which plan would you recommend for two people who mostly stream?",
    ],
)
def test_an_ordinary_request_is_no_report(judge: EmbeddedJudge, text: str) -> None:
    """Booking, stock, advice: nothing happened to anyone, in any of the five languages."""
    assert reported(judge, text) < matching.REPORT_FLOOR


SOAKED = TriggerCondition(
    label="Soaked parcel",
    description="Escalate when the customer says the courier left their parcel outside in the"
    " rain and it got soaked.",
)
OWN = "the driver just dumped my box on the doorstep in the pouring rain, everything is soaked"
NEIGHBOUR = (
    "my neighbour told me your driver left her parcel out in the rain, thought you should know"
)
HARMLESS = "the parcel was left outside but it was dry and all fine, just letting you know"


def matches(judge: EmbeddedJudge, text: str) -> bool:
    judgement = judge.judge_sync([Utterance(text=text, conditions=(SOAKED,))])[0]
    return judgement.conditions[0].matched


def test_similarity_meets_a_condition_only_in_a_report(judge: EmbeddedJudge) -> None:
    assert matches(judge, OWN)
    assert not matches(judge, NEIGHBOUR)
    assert not matches(judge, HARMLESS)


def test_without_the_report_classifier_similarity_would_meet_them(
    judge: EmbeddedJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the previous test owes to the report classifier, not to the other rules."""
    monkeypatch.setattr(matching, "REPORT_FLOOR", 0.0)
    assert matches(judge, NEIGHBOUR)
    assert matches(judge, HARMLESS)
