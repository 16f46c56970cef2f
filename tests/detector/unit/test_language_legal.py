"""Legal threats versus legal words the customer does not threaten with, on sentences written
for these tests (not taken from any evaluation set)."""

import pytest

from detector.language.legal import legal_score
from detector.language.lexical import read


@pytest.mark.parametrize(
    "text",
    [
        "Refund me by Thursday or I'm opening a dispute with my card issuer.",
        "If the money isn't back this week, I'm filing a chargeback.",
        "Unless I hear back today I will sue.",
        "I have no other option than a chargeback at this point.",
        "I'll be reporting you to trading standards first thing tomorrow.",
        "Si no me devolvéis el dinero, voy a demandar a la tienda.",
        "Do you want me to call my bank and reverse the charge? Because I will.",
        # German separable verbs: the body between the verb and its particle
        "Wenn die Gutschrift nicht bis Montag da ist, schalte ich die Verbraucherzentrale ein.",
        "Ich wende mich jetzt an die Schlichtungsstelle, das reicht mir.",
        "Si no me contestáis hoy, acudiré a la OMIC.",
    ],
)
def test_threats_stand(text: str) -> None:
    assert legal_score(read(text)) >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        # withdrawn
        "I was going to open a dispute with PayPal, but your colleague sorted it out. Thanks!",
        "Honestly I nearly filed a chargeback last night, glad it showed up this morning.",
        "I cancelled the chargeback once the replacement arrived.",
        # negated
        "Please don't treat this as a chargeback, I just want to update my card.",
        "I'm not going to sue anyone, I only need the invoice resent.",
        # quoted text to print or engrave
        'Could you print "see you in court" on the back of the mug? It is a gag gift.',
        "I'd like the sign to say 'I'll sue for snacks' in gold letters.",
        # asked about, not announced
        "How long does a paypal dispute usually take to close if the seller agrees?",
        # a review body mentioned in passing
        "Saw you're accredited with the Better Business Bureau, so I feel safe ordering.",
        "Your BBB profile looks great. Do you ship to Alaska?",
        "Die Verbraucherzentrale hat euren Shop empfohlen, deshalb bestelle ich hier.",
    ],
)
def test_legal_words_that_threaten_nothing(text: str) -> None:
    assert legal_score(read(text)) == 0.0
