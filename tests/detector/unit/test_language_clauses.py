"""How merchant conditions are split into clauses and mapped to concepts (conditions written
for these tests, not taken from any evaluation set)."""

import pytest

from detector.language.conditions import plan
from escalator_schemas.config import TriggerCondition


def clauses(description: str) -> list[tuple[str, tuple[str, ...]]]:
    condition = TriggerCondition(label="test", description=description)
    return [(clause.text, clause.concepts) for clause in plan(condition).clauses]


def test_a_parenthetical_between_commas_stays_in_its_clause() -> None:
    found = clauses("Escalate when the shopper asks, by any means, for a staff member to step in.")
    assert found == [("asks by any means for a staff member to step in", ("human",))]


def test_two_gerunds_joined_by_or_are_one_phrase() -> None:
    found = clauses("Escalate when the customer feels ill after wearing or washing our garments.")
    assert len(found) == 1
    assert found[0][1] == ("health",)


def test_or_before_a_new_verb_still_starts_a_clause() -> None:
    found = clauses("Escalate when the customer feels ill or asking for a representative.")
    assert [concepts for _, concepts in found] == [("health",), ("human",)]


def test_other_people_are_not_a_request_for_a_person() -> None:
    found = clauses("Escalate when the buyer says someone else used their card without asking.")
    assert all("human" not in concepts for _, concepts in found)
    found = clauses("Escalate when another person was hurt by the product.")
    assert [concepts for _, concepts in found] == [("safety",)]


def test_a_cue_as_written_beats_another_cue_plus_an_ending() -> None:
    # "reviewer" is a press cue; "review" + "-er" must not make it a bad-review threat.
    assert clauses("Escalate when the shopper is a product reviewer.")[0][1] == ("press",)
    assert clauses("Escalate when the shopper threatens a bad review.")[0][1] == ("review",)


def exclusions(description: str) -> tuple[str, list[str]]:
    found = plan(TriggerCondition(label="test", description=description))
    return found.whole.text, [exclusion.clause.text for exclusion in found.exclusions]


def test_exclusions_are_taken_out_of_the_condition() -> None:
    assert exclusions(
        "Escalate when the shopper wants to cancel their paid plan (putting it on hold does "
        "not count)."
    ) == ("Escalate when the shopper wants to cancel their paid plan.", ["putting it on hold"])
    assert exclusions("Escalate refund requests, except for orders under $20.") == (
        "Escalate refund requests.",
        ["orders under $20"],
    )
    assert exclusions("Escalate when a lamp arrives broken. A scuffed carton doesn't count.") == (
        "Escalate when a lamp arrives broken.",
        ["A scuffed carton"],
    )
    assert exclusions("Escalate unless the buyer only asks about sizes.")[1] == [
        "the buyer only asks about sizes"
    ]


def test_exclusions_in_four_more_languages() -> None:
    assert exclusions(
        "Escalar cuando el cliente quiere cancelar su membresía, salvo si solo quiere congelarla."
    )[1] == ["solo quiere congelarla"]
    assert exclusions("Wenn der Kunde sein Abo kündigen will. Eine Lieferpause zählt nicht.")[
        1
    ] == ["Eine Lieferpause"]
    assert exclusions("Wenn der Kunde kündigen will, außer er möchte nur pausieren.")[1] == [
        "er möchte nur pausieren"
    ]
    assert exclusions(
        "Quand le client veut résilier son abonnement (une suspension temporaire ne compte pas)."
    )[1] == ["une suspension temporaire"]
    assert exclusions("Quand le client veut résilier, sauf s'il veut changer de formule.")[1] == [
        "s'il veut changer de formule"
    ]
    assert exclusions(
        "Quando o cliente quer cancelar a assinatura, exceto quando só quer adiar uma entrega."
    )[1] == ["só quer adiar uma entrega"]
    assert exclusions("O cliente quer um reembolso (trocar o tamanho não conta).")[1] == [
        "trocar o tamanho"
    ]


def test_numbers_and_plain_conditions_are_not_exclusions() -> None:
    assert exclusions("Escalate when the cart is worth more than 1.500 € in total.") == (
        "Escalate when the cart is worth more than 1.500 € in total.",
        [],
    )
    assert (
        exclusions("Escalate when the customer wants a font other than the ones we list.")[1] == []
    )


def texts(description: str) -> list[str]:
    return [text for text, _ in clauses(description)]


def test_a_list_of_objects_stays_in_its_clause() -> None:
    # The items share the verb and the tail: one clause, which names the concept as a whole.
    found = clauses(
        "Escalate when the shopper reports a headache, nausea, dizziness or another symptom "
        "after taking one of our supplements."
    )
    assert found == [
        (
            "reports a headache, nausea, dizziness or another symptom after taking one of our "
            "supplements",
            ("health",),
        )
    ]
    assert texts(
        "Escalate when the shopper reports a rash, itching, or any other reaction to our soap."
    ) == ["reports a rash, itching, or any other reaction to our soap"]


def test_a_list_ending_in_a_verb_is_a_list_of_alternatives() -> None:
    found = clauses(
        "Escalate when the buyer shows frustration, a repeated complaint, or asks for a manager."
    )
    assert [concepts for _, concepts in found] == [("anger",), ("repeated",), ()]
    assert texts(
        "Escalate when the shopper threatens a lawsuit, disputes the payment, or posts a bad "
        "review."
    ) == ["threatens a lawsuit", "disputes the payment", "posts a bad review"]
    # A German clause after a comma ends in its verb.
    assert texts("Wenn der Kunde wütend ist, mit einem Anwalt droht oder Hilfe verlangt.") == [
        "wütend ist",
        "mit einem Anwalt droht oder Hilfe verlangt",
    ]


def test_examples_in_parentheses_are_no_alternatives() -> None:
    assert texts(
        "Escalate when the customer mentions a tremor, seizure or another condition (e.g. "
        "epilepsy, vertigo) that our lights could trigger."
    ) == [
        "mentions a tremor, seizure or another condition (e.g. epilepsy, vertigo) that our "
        "lights could trigger"
    ]
    assert texts(
        "Escalar cuando el cliente, por una lesión (esguince, fractura, etc.), no puede montar "
        "el mueble, la cama o la estantería y necesita ayuda."
    ) == [
        "por una lesión (esguince, fractura, etc.), no puede montar el mueble, la cama o la "
        "estantería y necesita ayuda"
    ]


def test_the_last_alternative_may_be_a_list_itself() -> None:
    # A limit keeps its clause to itself; "or their own slogan, crest or mascot" is one thing.
    assert texts(
        "Escalate when the customer wants a banner wider than 3 metres, a colour we do not "
        "stock, or their own slogan, crest or mascot printed on it."
    ) == [
        "wants a banner wider than 3 metres",
        "colour we do not stock",
        "their own slogan, crest or mascot printed on it",
    ]


def test_lists_inside_one_clause_in_four_more_languages() -> None:
    assert texts(
        "Der Kunde meldet, dass die Lampe geflackert, gesummt oder einen Kurzschluss "
        "verursacht hat."
    ) == ["meldet, dass die Lampe geflackert, gesummt oder einen Kurzschluss verursacht hat"]
    assert texts(
        "Le client signale une brûlure, une coupure, une ampoule ou une autre blessure après "
        "avoir utilisé un de nos outils."
    ) == [
        "signale une brûlure, une coupure, une ampoule ou une autre blessure après avoir "
        "utilisé un de nos outils"
    ]
    assert texts(
        "O cliente relata dor de cabeça, náusea, tontura ou outro sintoma depois de tomar um dos "
        "nossos chás."
    ) == [
        "relata dor de cabeça, náusea, tontura ou outro sintoma depois de tomar um dos nossos chás"
    ]
    assert texts(
        "El cliente informa de un cargo, reembolso o suscripción que no reconoce, o pide hablar "
        "con su banco."
    ) == [
        "informa de un cargo, reembolso o suscripción que no reconoce",
        "pide hablar con su banco",
    ]


def test_a_sentence_of_exclusions_excludes_its_whole_list() -> None:
    # After the sentence that states the condition, commas list what is excluded.
    assert exclusions(
        "Escalate when a tenant reports a gas smell or no heating. Questions about rent, "
        "parking, bins or keys do not count."
    ) == (
        "Escalate when a tenant reports a gas smell or no heating.",
        ["Questions about rent, parking, bins or keys"],
    )
    assert exclusions(
        "Escalar cuando el paciente sufre mareos. Las dudas sobre horarios, precios o "
        "aparcamiento no cuentan."
    )[1] == ["Las dudas sobre horarios, precios o aparcamiento"]
    # In the sentence that states it, a comma still sets the exclusion apart.
    assert exclusions("Escalate refund requests, a voucher swap does not count.")[1] == [
        "a voucher swap"
    ]


def test_an_exclusion_may_open_with_its_marker() -> None:
    assert exclusions(
        "Escalate when a renter reports a flat tyre. It does not count if they only ask where "
        "the spare is."
    )[1] == ["they only ask where the spare is"]
    assert exclusions(
        "Escalar cuando el huésped no puede entrar. No cuenta si solo pregunta por el wifi."
    )[1] == ["solo pregunta por el wifi"]
    assert exclusions(
        "Escalader quand le colis est abîmé. Cela ne compte pas si seul le carton est froissé."
    )[1] == ["seul le carton est froissé"]
    assert exclusions(
        "Escalar quando o aluno quer trancar a matrícula. Não conta se só pergunta o horário."
    )[1] == ["só pergunta o horário"]
    assert exclusions(
        "Eskalieren, wenn ein Gerät raucht. Zählt nicht, wenn nur das Display flackert."
    )[1] == ["nur das Display flackert"]


def test_an_exclusion_may_say_why_after_a_dash() -> None:
    assert exclusions(
        "Escalate when a delivered sofa is torn. Creased cushions don't count — they settle "
        "within a day."
    ) == ("Escalate when a delivered sofa is torn.", ["Creased cushions"])


def test_a_later_sentence_denying_a_kind_is_an_exclusion() -> None:
    assert exclusions(
        "Escalate when the boiler leaks or smells of gas. A dripping tap is not an emergency."
    )[1] == ["A dripping tap"]
    assert exclusions(
        "Escalar cuando la caldera pierde gas. Un grifo que gotea no es una urgencia."
    )[1] == ["Un grifo que gotea"]
    assert exclusions(
        "Eskalieren, wenn der Akku sich aufbläht. Ein warmes Ladegerät ist kein Defekt."
    )[1] == ["Ein warmes Ladegerät"]
    assert exclusions("Escalader si la batterie gonfle. Un chargeur tiède n'est pas un défaut.")[
        1
    ] == ["Un chargeur tiède"]
    assert exclusions("Escalar quando a bateria incha. Um carregador morno não é um defeito.")[
        1
    ] == ["Um carregador morno"]
    # A sentence with its own "when" states a condition, whatever it denies.
    stated = "Escalate when the guest is unhappy. Also escalate when the room is not ready."
    assert exclusions(stated)[1] == []


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Escalate when a quote is above $3,000, so a sales engineer can call the customer.",
            ["quote is above $3,000"],
        ),
        (
            "Escalate bookings for 12 or more guests so our events team can plan.",
            ["bookings for 12 or more guests"],
        ),
        (
            "Escalate when a member wants to quit, in order to offer a free month.",
            ["member wants to quit"],
        ),
        (
            "Escalar cuando el carrito supera los 800 €, para ofrecer financiación.",
            ["carrito supera los 800 €"],
        ),
        (
            "Escalar quando o cliente pede nota fiscal, para que o financeiro emita.",
            ["pede nota fiscal"],
        ),
        (
            "Eskalieren, wenn jemand ein Firmenkonto will, damit der Vertrieb anruft.",
            ["jemand ein Firmenkonto will"],
        ),
        (
            "Eskalieren, wenn jemand kündigen will, um ihm einen Rabatt anzubieten.",
            ["jemand kündigen will"],
        ),
        (
            "Escalader si le panier dépasse 400 €, pour proposer un paiement en 3 fois.",
            ["panier dépasse 400 €"],
        ),
        (
            "Escalader quand un client veut résilier, afin qu'un conseiller le rappelle.",
            ["veut résilier"],
        ),
    ],
)
def test_why_the_merchant_wants_it_is_no_clause(description: str, expected: list[str]) -> None:
    assert [text for text, _ in clauses(description)] == expected


@pytest.mark.parametrize(
    "description",
    [
        "Escalate when the customer is so angry they will leave.",
        "Escalate when the kettle is damaged so badly that it can't be used.",
        "Escalar cuando piden una mesa para 20 personas.",
    ],
)
def test_so_and_para_that_belong_to_the_condition_stay(description: str) -> None:
    kept = " ".join(text for text, _ in clauses(description))
    assert kept.split()[-1] == description.rstrip(".").split()[-1]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Eskalieren, wenn jemand Bilder bestellen möchte, die er nicht selbst "
            "aufgenommen hat (z. B. aus dem Internet).",
            "jemand Bilder bestellen möchte, die er nicht selbst aufgenommen hat (z. B. aus "
            "dem Internet)",
        ),
        (
            "Escalate when a learner wants a refund for a workshop, which they already attended.",
            "learner wants a refund for a workshop, which they already attended",
        ),
        (
            "Escalader quand le client signale un colis, dont l'emballage est déchiré.",
            "signale un colis, dont l'emballage est déchiré",
        ),
    ],
)
def test_a_relative_clause_qualifies_what_precedes_it(description: str, expected: str) -> None:
    # "…, die er nicht selbst aufgenommen hat" says which pictures: no alternative of its own
    assert texts(description) == [expected]


def test_a_german_article_after_a_comma_still_opens_an_alternative() -> None:
    # a noun follows the article: it names a thing, it qualifies none
    assert texts("Eskalieren, wenn der Kunde einen Riss meldet, die Lieferung zu spät kommt.") == [
        "einen Riss meldet",
        "Lieferung zu spät kommt",
    ]
