"""Topic of a conversation about a service (an appointment, a class, a stay), on sentences
written for these tests, not taken from any labelled set."""

import pytest

from detector.language.topics import topic_and_area
from escalator_schemas.classification import Topic


@pytest.mark.parametrize(
    "text",
    [
        "Can I move my appointment with the hygienist to next Tuesday afternoon?",
        "¿Queda sitio en la clase de cerámica del jueves para dos personas?",
        "Können wir unseren Termin für die Massage auf Freitag verschieben?",
        "Est-ce qu'il reste de la place pour la séance de yoga de samedi matin ?",
        "Dá para remarcar a aula de natação do meu filho para quinta?",
    ],
)
def test_a_service_is_no_product(text: str) -> None:
    assert topic_and_area((text,))[0] is Topic.OTHER


@pytest.mark.parametrize(
    "text",
    [
        "Is the ceramic class set dishwasher safe?",
        "Il fête ses 30 ans samedi, la montre existe-t-elle en taille 38 ?",
    ],
)
def test_a_product_question_stays_a_product(text: str) -> None:
    assert topic_and_area((text,))[0] is Topic.PRODUCT
