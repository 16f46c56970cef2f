"""A customer who denies the very thing a condition names ("I don't want to cancel, only to
pause", "nothing broken, it just needs a clean") reports none of it, in five languages; a
negated ability ("I can't cancel it in the app") or a plain report still counts. Sentences
written for these tests, not from any labelled set."""

import pytest

from detector.language.embedded import EmbeddedJudge
from detector.language.lexical import read
from escalator_schemas.config import TriggerCondition
from tests.detector.unit.judging import matched


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("I don't want to cancel, I only want to move my plan to next month.", "cancel"),
        ("We do not want a refund, a replacement is fine.", "refund_want"),
        ("No quiero cancelar la suscripción, solo cambiar la tarjeta.", "cancel"),
        ("Je ne veux surtout pas résilier, je voudrais juste changer d'adresse.", "cancel"),
        ("Não quero o reembolso, prefiro outra cor.", "refund_want"),
        ("Ich möchte mein Abo nicht kündigen, nur die Zahlungsart ändern.", "cancel"),
        ("Nothing broken, the box was just a bit dusty.", "damaged"),
        ("Nada roto, solo quería saber cómo se limpia.", "damaged"),
        ("Rien de cassé, juste une question sur l'entretien.", "damaged"),
    ],
)
def test_a_denied_wish_or_damage_is_no_cue(text: str, group: str) -> None:
    reading = read(text)
    assert not reading.has(group), reading.hits
    assert reading.has("denied")


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("I can't cancel my subscription in the app, please do it for me.", "cancel"),
        ("Ich kann nicht kündigen, die Seite lädt nicht.", "cancel"),
        ("I want to cancel, I don't need it anymore.", "cancel"),
        ("No, the screen is cracked right across.", "damaged"),
        ("It does not charge and the lid is broken.", "damaged"),
        ("I want my money back, not a voucher.", "refund_want"),
    ],
)
def test_a_negated_ability_or_another_negation_leaves_the_cue(text: str, group: str) -> None:
    reading = read(text)
    assert reading.has(group), reading.hits
    assert not reading.has("denied")


def test_a_denial_next_to_other_trouble_is_no_all_clear() -> None:
    reading = read("I don't want to cancel, but the app charged me twice and it's broken again.")
    assert not reading.has("cancel")
    assert not reading.has("denied")  # the rest of the message still reports trouble


CANCEL = TriggerCondition(
    label="Cancellation", description="Escalate when the customer wants to cancel their plan."
)
LEAVING = TriggerCondition(
    label="Baja", description="Escalar cuando el cliente quiere darse de baja del servicio."
)
DAMAGE = TriggerCondition(
    label="Damage",
    description="Escalate when the customer says our fitter damaged their property.",
)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (CANCEL, "I'm not looking to cancel my plan, can I just pause it for July?"),
        (LEAVING, "Tranquilos, no quiero darme de baja. ¿Puedo pasar a la tarifa de 300 Mb?"),
        (DAMAGE, "The fitter left some dust on the carpet. Nothing broken, just a quick hoover."),
    ],
)
def test_a_denial_meets_no_condition(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert not matched(judge, condition, text)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (CANCEL, "Please cancel my plan from next month, I'm moving abroad."),
        (LEAVING, "Quiero darme de baja, me voy a otra compañía."),
        (DAMAGE, "Your fitter cracked the bathroom tiles when he drilled the holes."),
    ],
)
def test_the_plain_report_still_meets_it(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert matched(judge, condition, text)


@pytest.mark.parametrize(
    "text",
    [
        "Nothing weird on my account so far, but how do I switch on two-factor login?",
        "Nada raro en mi cuenta, pero ¿cómo activo la verificación en dos pasos?",
        "Nichts Ungewöhnliches im Konto, aber wie aktiviere ich die Zwei-Faktor-Anmeldung?",
        "Rien d'anormal sur mon compte, mais comment activer la double authentification ?",
        "Nada de estranho na conta, mas como ativo a verificação em duas etapas?",
    ],
)
def test_nothing_unusual_is_all_fine(text: str) -> None:
    assert read(text).has("all_fine")


TAKEOVER = TriggerCondition(
    label="Account takeover",
    description="Escalate when the customer reports a login they don't recognise, a domain "
    "transfer they didn't request, or DNS changes they didn't make.",
)


@pytest.mark.parametrize(
    "text",
    [
        "There was an article about domain hijacking and it scared me. Nothing weird on my "
        "domains, but how do I lock transfers?",
        "Nothing unusual in my login history, I just want to know how to set up two-step "
        "verification.",
    ],
)
def test_nothing_unusual_meets_no_takeover_condition(judge: EmbeddedJudge, text: str) -> None:
    assert not matched(judge, TAKEOVER, text)
