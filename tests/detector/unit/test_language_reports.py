"""Conditions met only by what really happened: limits in lists, the clause the numbers rule out,
and messages that report nothing (a shopper's question, a "what if", praise). Sentences written
for these tests, not from any labelled set."""

import pytest

from detector.language import Utterance
from detector.language.conditions import plan
from detector.language.embedded import EmbeddedJudge
from detector.language.lexical import read
from detector.language.lexicon import fold
from detector.language.matching import affirmed, label_urgency, may_be_about, not_a_report
from detector.language.numbers import Kind, Limit, Quantity, limits, quantities
from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition
from tests.detector.unit.judging import matched


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Rabatt ab 30 Stück", Limit(">=", 30, Kind.COUNT)),
        ("grupos a partir de 15 entradas", Limit(">=", 15, Kind.COUNT)),
        ("des paniers à partir de 200 €", Limit(">=", 200, Kind.MONEY)),
        ("pedidos desde 25 unidades", Limit(">=", 25, Kind.COUNT)),
        ("discounts from 40 units", Limit(">=", 40, Kind.COUNT)),
        ("un logement au-delà du 5e étage", Limit(">", 5, Kind.COUNT)),
    ],
)
def test_where_a_range_starts_is_a_limit(condition: str, expected: Limit) -> None:
    assert limits(fold(condition)) == [expected]


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("I'm on the 7th floor, no lift", 7),
        ("j'habite au 2e, c'est possible ?", 2),
        ("wir wohnen im 4. Stock", 4),
        ("moro no 9º andar", 9),
    ],
)
def test_a_floor_is_a_count(text: str, floor: int) -> None:
    assert Quantity(floor, Kind.COUNT) in quantities(fold(text))


@pytest.mark.parametrize(
    "text", ["entradas para el 12 de mayo", "chegam no dia 22 de março", "pour le 15 mai"]
)
def test_a_day_of_the_month_is_no_count(text: str) -> None:
    assert not [q for q in quantities(fold(text)) if q.kind is Kind.COUNT]


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("3 adults and a 9-year-old", [3]),
        ("on sera 12 pour le séminaire", [12]),
        ("somos 25 na equipe", [25]),
        ("there'll be 14 of us", [14]),
        ("wir kommen mit 11 Kollegen", [11]),
    ],
)
def test_people_are_counted_apart(text: str, people: list[int]) -> None:
    found = quantities(fold(text))
    assert [q.value for q in found if q.kind is Kind.PEOPLE] == people
    assert not [q for q in found if q.kind is Kind.COUNT]


GROUPS = TriggerCondition(
    label="Groups",
    description="Escalate when someone books a cooking class for more than 10 people.",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can I book the pasta class for 4 adults and one 12-year-old?", False),
        ("We'd like the pasta class for our team, 16 people, and 30 aprons as gifts.", True),
        ("Pasta class for 6 people please, and could you add 24 cannoli to take home?", False),
    ],
)
def test_a_group_limit_counts_people_only(judge: EmbeddedJudge, text: str, expected: bool) -> None:
    assert matched(judge, GROUPS, text) is expected


def test_a_limit_on_one_item_of_a_list_is_partial() -> None:
    listed = TriggerCondition(
        label="Escolas",
        description="Escalar quando uma escola quiser desconto a partir de 30 notebooks ou nota "
        "fiscal em nome da escola.",
    )
    alone = TriggerCondition(label="Bulk", description="Escalate on orders of 30 units or more.")
    shared = TriggerCondition(
        label="Groups",
        description="Escalate when someone books a tour or a rental for more than 8 people "
        "(team events, clubs).",
    )
    assert [c.partial_limit for c in plan(listed).clauses if c.limits] == [True]
    assert [c.partial_limit for c in plan(alone).clauses if c.limits] == [False]
    assert [c.partial_limit for c in plan(shared).clauses if c.limits] == [False]


def test_an_item_a_concept_names_before_the_limit_is_one_of_its_own() -> None:
    # cancelling has no length: only the pause is measured
    either = TriggerCondition(
        label="Kündigung",
        description="Eskalieren, wenn ein Kunde kündigen oder sein Abo länger als 6 Wochen "
        "aussetzen möchte.",
    )
    assert [c.partial_limit for c in plan(either).clauses if c.limits] == [True]


SCHOOLS = TriggerCondition(
    label="Schools",
    description="Escalate when a school asks for a framework agreement, a service contract or a "
    "discount from 30 laptops.",
)


def test_a_number_outside_a_listed_limit_rules_the_list_out(judge: EmbeddedJudge) -> None:
    assert not matched(judge, SCHOOLS, "Our school needs 8 laptops for the library, by card.")
    assert matched(judge, SCHOOLS, "Our school needs 45 laptops next term, is there a discount?")
    # no number of its kind: another item of the list may still be met
    assert matched(
        judge, SCHOOLS, "We're a primary school: could we sign a framework agreement with you?"
    )


LEAVING = TriggerCondition(
    label="Baja",
    description="Escalar cuando el cliente quiera darse de baja de la suscripción, o pausar los "
    "envíos por más de 3 meses.",
)


def test_the_clause_a_number_rules_out_is_not_met_by_its_sibling(judge: EmbeddedJudge) -> None:
    # "pausing for 2 months" is close to "leaving" by similarity, closer to the pause it fails
    assert not matched(
        judge, LEAVING, "Quiero pausar mi suscripción de café durante 2 meses, me voy de viaje."
    )
    assert matched(judge, LEAVING, "Quiero darme de baja, ya no me interesa.")


HEATER = TriggerCondition(
    label="Heater hazard",
    description="Escalate when the customer says a heater we sold overheated, gave off smoke "
    "or sparked.",
)
CHILD_SAFE = TriggerCondition(
    label="Child safety question",
    description="Escalate when the customer asks whether a heater is safe around small children.",
)
ESPRESSO = TriggerCondition(
    label="Faulty espresso machine",
    description="Escalate when the customer reports a fault with an espresso machine (it "
    "leaks, shows an error code, or stops heating).",
)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (HEATER, "Before I buy: does the Ember oil heater get hot to the touch on the outside?"),
        (HEATER, "Was passiert, wenn der Heizlüfter mal überhitzt? Schaltet er sich ab?"),
        (
            ESPRESSO,
            "Our Vela espresso machine has run for two years without a single fault. Which "
            "descaler do you recommend?",
        ),
    ],
)
def test_a_message_that_reports_nothing_is_no_report(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert not matched(judge, condition, text)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (HEATER, "My Ember heater started smoking last night and the plug is scorched."),
        (CHILD_SAFE, "Before I buy: is the Ember oil heater safe with a toddler in the room?"),
        (ESPRESSO, "Our espresso machine has been leaking under the drip tray since Monday."),
    ],
)
def test_reports_and_questions_a_clause_asks_about_still_match(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str
) -> None:
    assert matched(judge, condition, text)


@pytest.mark.parametrize(
    ("description", "text", "urgency"),
    [
        (
            "Eskalieren, wenn ein Kunde nach dem Einnehmen unserer Tropfen über Ausschlag oder "
            "Juckreiz klagt.",
            "Seit ich eure Tropfen nehme, habe ich am ganzen Arm einen juckenden Ausschlag.",
            Urgency.HIGH,
        ),
        (
            "Escalar quando o cliente quiser encerrar o plano anual antes do fim.",
            "Quero encerrar meu plano anual agora, antes do fim, vou me mudar de país.",
            Urgency.HIGH,
        ),
        (
            "Escalader quand le client signale que son vélo loué a été volé.",
            "On nous a volé le vélo loué devant la gare cette nuit, que faire ?",
            Urgency.HIGH,
        ),
        (
            "Escalar cuando alguien quiera comprar más de 40 sillas.",
            "Queremos comprar 60 sillas para la oficina nueva.",
            Urgency.MEDIUM,
        ),
    ],
)
def test_a_clause_naming_harm_theft_or_cancelling_is_urgent_in_any_language(
    judge: EmbeddedJudge, description: str, text: str, urgency: Urgency
) -> None:
    condition = TriggerCondition(label="c", description=description)
    match = judge.judge_sync([Utterance(text=text, conditions=(condition,))])[0].conditions[0]
    assert (match.matched, match.urgency) == (True, urgency), match


CANCEL_PLAN = TriggerCondition(
    label="Cancelling",
    description="Escalate when a customer wants to cancel their phone insurance plan.",
)
REFUND = TriggerCondition(
    label="Refund", description="Escalate when the customer wants a refund for a course."
)
SCREEN = TriggerCondition(
    label="Water damage",
    description="Escalar cuando el cliente diga que su móvil está dañado por agua y no enciende.",
)


@pytest.mark.parametrize(
    ("condition", "text", "expected"),
    [
        (
            CANCEL_PLAN,
            "If I take the phone insurance today, can I cancel it if I change my mind?",
            False,
        ),
        (CANCEL_PLAN, "Please cancel my phone insurance plan from next month.", True),
        (REFUND, "Before I buy the pottery course: would I get a refund if I can't attend?", False),
        (REFUND, "I want a refund for the pottery course, the teacher never showed up.", True),
        (
            SCREEN,
            "Se me cayó el móvil y se rajó la pantalla, pero funciona todo. ¿Cuánto cuesta?",
            False,
        ),
    ],
)
def test_policy_questions_and_working_products_are_no_requests(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str, expected: bool
) -> None:
    assert matched(judge, condition, text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "My parcel was scheduled for today but tracking now says tomorrow. All fine?",
        "El paquete estaba previsto para hoy y el seguimiento dice mañana, ¿va todo bien?",
        "The speaker still disconnects within an hour, even after the reset you suggested.",
    ],
)
def test_a_time_that_was_planned_or_a_fault_that_recurs_is_no_urgency(
    judge: EmbeddedJudge, text: str
) -> None:
    assert not judge.judge_sync([Utterance(text=text)])[0].urgency.present


def test_a_need_with_a_deadline_beside_a_missed_plan_is_still_urgent(judge: EmbeddedJudge) -> None:
    text = "It was supposed to arrive today and I need it for the party tonight!"
    assert judge.judge_sync([Utterance(text=text)])[0].urgency.present


@pytest.mark.parametrize(
    "text",
    [
        "That's what I get for ordering half asleep: two LEFT running shoes 🤦 Can I swap one "
        "for a right one?",
        "Oops, my bad 🤦 I typed my own postcode wrong. Can you change it to 4410?",
        "Haha my dog prefers the box to the 50 euro bed 🙃 does the cover come off for washing?",
    ],
)
def test_laughing_at_oneself_is_no_anger(judge: EmbeddedJudge, text: str) -> None:
    assert not judge.judge_sync([Utterance(text=text)])[0].anger.present


@pytest.mark.parametrize(
    "text",
    [
        "Third week waiting for my parcel 🙄😂 amazing service",
        "Broken again 🤦 lol, what a joke of a kettle",
    ],
)
def test_laughing_at_a_problem_is_still_mockery(judge: EmbeddedJudge, text: str) -> None:
    assert judge.judge_sync([Utterance(text=text)])[0].anger.present


SUITABILITY = TriggerCondition(
    label="Medical suitability",
    description="Escalate when the customer asks whether a product is safe for them given an "
    "allergy, a medical condition or a medication.",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is the oat bar gluten-free? No allergies here, we just avoid wheat.", False),
        ("Which magnesium do you recommend? I'm not on any medication at all.", False),
        ("Is the oat bar safe for me? I have a severe peanut allergy.", True),
        ("¿Puedo tomar el colágeno? Estoy con medicación para la tiroides.", True),
    ],
)
def test_a_negated_allergy_or_medication_is_none(
    judge: EmbeddedJudge, text: str, expected: bool
) -> None:
    assert matched(judge, SUITABILITY, text) is expected


def test_no_as_an_answer_negates_nothing(judge: EmbeddedJudge) -> None:
    condition = TriggerCondition(
        label="Reaction",
        description="Escalate when the customer reports a rash after using a cream.",
    )
    assert matched(judge, condition, "No, I have a rash on both hands since I used the cream.")


RENEWALS = {
    "en": (
        "Escalate when the member says they were charged for something they do not recognise. "
        "It does not count if they only ask when their plan renews.",
        "My card statement shows two charges of 30 € from you on the same day.",
        "When does my yearly plan renew, and for how much?",
    ),
    "es": (
        "Escalar cuando el socio dice que le cobraron algo que no reconoce. No cuenta si solo "
        "pregunta cuándo se renueva su cuota.",
        "En el extracto veo un cargo de 45 € que no hice yo.",
        "¿Cuándo se renueva mi cuota anual?",
    ),
    "de": (
        "Eskalieren, wenn ein Mitglied eine Abbuchung nicht erkennt. Zählt nicht, wenn es nur "
        "fragt, wann sich der Tarif verlängert.",
        "Auf dem Kontoauszug sind zwei Abbuchungen über 20 €, ich habe nur einmal bestellt.",
        "Wann verlängert sich mein Tarif eigentlich?",
    ),
}


@pytest.mark.parametrize("language", sorted(RENEWALS))
def test_an_exclusion_of_a_question_leaves_reports_alone(language: str) -> None:
    description, report, question = RENEWALS[language]
    (exclusion,) = plan(TriggerCondition(label="test", description=description)).exclusions
    assert not may_be_about(exclusion, read(report))
    assert may_be_about(exclusion, read(question))


@pytest.mark.parametrize(
    ("label", "urgency"),
    [
        ("Electrical or gas hazard", Urgency.HIGH),
        ("Vorzeitige Kündigung", Urgency.HIGH),
        ("Reacción alérgica", Urgency.HIGH),
        ("Risque d'incendie", Urgency.HIGH),
        ("Suspeita de fraude", Urgency.HIGH),
        ("Wedding cake tasting", None),
    ],
)
def test_a_label_names_the_urgency_of_its_concept(label: str, urgency: Urgency | None) -> None:
    assert label_urgency(label) == urgency


def test_a_matched_condition_takes_its_labels_urgency(judge: EmbeddedJudge) -> None:
    condition = TriggerCondition(
        label="Fire hazard",
        description="Escalate when a customer says the heater gives off a strange smell.",
    )
    judgement = judge.judge_sync(
        [
            Utterance(
                text="Since this morning the heater gives off a strange smell, like hot plastic.",
                conditions=(condition,),
            )
        ]
    )[0]
    assert judgement.conditions[0].matched
    assert judgement.conditions[0].urgency is Urgency.HIGH


@pytest.mark.parametrize(
    "text",
    [
        "If the heater ever gave off smoke, would you replace it? Just planning ahead for winter.",
        "Si la estufa echara humo, ¿la cambiáis? Lo pregunto por precaución.",
        "Falls der Heizlüfter mal qualmt, tauscht ihr ihn um? Frage nur vorsichtshalber.",
        "Si le radiateur fumait, vous le remplaceriez ? Je demande par précaution.",
        "Se o aquecedor soltar fumaça, vocês trocam? Pergunto só para garantir.",
    ],
)
def test_a_precaution_reports_nothing(judge: EmbeddedJudge, text: str) -> None:
    assert not matched(judge, HEATER, text)


LOST_BOX = TriggerCondition(
    label="Lost or spoiled box",
    description="Escalate when a customer did not get their meal box although tracking says "
    "delivered, or the box was left outside for more than 3 hours.",
)


@pytest.mark.parametrize(
    "text",
    [
        "The driver gave the box to the flat upstairs, I've picked it up and everything is fine.",
        "El repartidor lo dejó en portería, ya lo tengo y todo está perfecto.",
        "Der Fahrer hat die Box beim Nachbarn abgegeben, ich hab sie, alles ist in Ordnung.",
        "Le livreur l'a laissée au gardien, je l'ai récupérée et tout est parfait.",
        "O entregador deixou com o porteiro, já peguei e está tudo certo.",
    ],
)
def test_all_being_fine_reports_no_loss(judge: EmbeddedJudge, text: str) -> None:
    (clause,) = plan(LOST_BOX).clauses[:1]
    assert not_a_report(clause, read(text)) == "all_fine"
    assert not matched(judge, LOST_BOX, text)


PRINT_RUN = TriggerCondition(
    label="Bulk order",
    description="Escalate when a business wants more than 20,000 flyers or more than 500 posters.",
)
MERCH = TriggerCondition(
    label="Pedido grande",
    description="Escalar cuando piden más de 200 camisetas o más de 50 sudaderas.",
)
PHOTO_RUN = TriggerCondition(
    label="Großauftrag",
    description="Eskalieren bei Aufträgen über 400 Abzüge oder mehr als 15 Kalender.",
)


@pytest.mark.parametrize(
    ("condition", "text", "expected"),
    [
        (PRINT_RUN, "Quote please for 5,000 A5 flyers, double-sided, for our shop.", False),
        (PRINT_RUN, "We'd need 25,000 flyers for the campaign, what would that cost?", True),
        (PRINT_RUN, "Could you print 800 posters for the festival next month?", True),
        (MERCH, "Necesitamos 100 camisetas para la carrera del club.", False),
        (MERCH, "Queremos 60 sudaderas con el logo del colegio.", True),
        # a count naming neither thing could count either: it must pass both limits
        (
            PHOTO_RUN,
            "Für den Auftrag sind es ungefähr 250 Fotos vom Urlaub, wie lange dauert das?",
            False,
        ),
        (PHOTO_RUN, "Ich bräuchte 20 Kalender für das Team.", True),
        (PHOTO_RUN, "Ich bräuchte 300 Abzüge in Hochglanz.", False),
    ],
)
def test_each_thing_is_held_to_its_own_limit(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str, expected: bool
) -> None:
    assert matched(judge, condition, text) is expected


MEMBER_CANCELS = TriggerCondition(
    label="Cancellation", description="Escalate when a member wants to cancel their membership."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is the pool included in my membership?", False),
        ("Can I bring a guest with my membership on Saturday?", False),
        ("Please cancel my membership from May, I'm moving.", True),
        ("Quero cancelar a minha assinatura, vou mudar de cidade.", True),
    ],
)
def test_the_member_a_clause_names_is_who_asks_not_what_happened(
    judge: EmbeddedJudge, text: str, expected: bool
) -> None:
    assert matched(judge, MEMBER_CANCELS, text) is expected


REPAIR = TriggerCondition(
    label="Big repair",
    description="Escalate when a repair estimate is above £1,000, so a service advisor can call.",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The estimate came in: clutch kit £610, flywheel £540, plus labour.", True),
        ("The repair estimate is £1,250 all in.", True),
        ("The estimate says £400 for the clutch or £700 for the full kit.", False),
        ("The estimate was £900, now £650 after the discount on £350 of parts.", False),
        ("The estimate is £300 for parts and £250 labour.", False),
    ],
)
def test_the_items_of_one_bill_add_up(judge: EmbeddedJudge, text: str, expected: bool) -> None:
    assert matched(judge, REPAIR, text) is expected


VANISHED = TriggerCondition(
    label="Lost folders",
    description="Escalate when a customer says documents or folders have vanished from their"
    " workspace. Items in the trash that users can restore themselves do not count.",
)


@pytest.mark.parametrize(
    "text",
    [
        "The trash is empty and nobody removed anything, but half of our client folders are no"
        " longer there.",
        "Nothing in the trash, yet half of our client folders are no longer there.",
    ],
)
def test_an_exclusion_the_message_denies_does_not_rule_it_out(
    judge: EmbeddedJudge, text: str
) -> None:
    assert matched(judge, VANISHED, text)


def test_an_exclusion_the_message_is_about_still_rules_it_out(judge: EmbeddedJudge) -> None:
    assert not matched(
        judge, VANISHED, "Half of our client folders are in the trash, can we restore them?"
    )


def test_affirmed_keeps_what_is_not_denied() -> None:
    assert affirmed("trash is empty, nobody deleted anything, and 140 cards vanished") == (
        " and 140 cards vanished"
    )
    assert affirmed("i only want to pause it") == "i only want to pause it"


LONG_TERMS = TriggerCondition(
    label="Extended terms",
    description="Escalate when a trade buyer asks for payment terms of 45 days or longer.",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We're a chain of 6 shops and we usually pay suppliers 60 days after invoice.", True),
        ("Could we pay within 14 days of delivery instead of upfront?", False),
        ("What payment terms do new trade accounts get?", False),
    ],
)
def test_a_limit_written_after_its_number_with_or_longer(
    judge: EmbeddedJudge, text: str, expected: bool
) -> None:
    assert matched(judge, LONG_TERMS, text) is expected
