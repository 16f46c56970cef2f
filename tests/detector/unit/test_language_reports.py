"""Conditions met only by what really happened: limits in lists, the clause the numbers rule out,
and messages that report nothing (a shopper's question, a "what if", praise). Sentences written
for these tests, not from any labelled set."""

import pytest

from detector.language import Utterance
from detector.language.conditions import plan
from detector.language.embedded import EmbeddedJudge
from detector.language.lexicon import fold
from detector.language.numbers import Kind, Limit, Quantity, limits, quantities
from escalator_schemas.config import TriggerCondition


@pytest.fixture(scope="module")
def judge() -> EmbeddedJudge:
    return EmbeddedJudge(model_time_share=None)


def matched(judge: EmbeddedJudge, condition: TriggerCondition, text: str) -> bool:
    judgement = judge.judge_sync([Utterance(text=text, conditions=(condition,))])[0]
    return judgement.conditions[0].matched


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


def test_a_limit_on_one_item_of_a_list_is_partial() -> None:
    listed = TriggerCondition(
        label="Schulen",
        description="Eskalieren, wenn eine Schule einen Rahmenvertrag oder Rabatt ab 30 Laptops "
        "anfragt.",
    )
    alone = TriggerCondition(label="Bulk", description="Escalate on orders of 30 units or more.")
    assert [c.partial_limit for c in plan(listed).clauses if c.limits] == [True]
    assert [c.partial_limit for c in plan(alone).clauses if c.limits] == [False]


SCHOOLS = TriggerCondition(
    label="Schools",
    description="Escalate when a school asks for a framework agreement or a discount from 30 "
    "laptops.",
)


def test_a_number_outside_a_listed_limit_rules_the_list_out(judge: EmbeddedJudge) -> None:
    assert not matched(judge, SCHOOLS, "Our school needs 8 laptops for the library, by card.")
    assert matched(judge, SCHOOLS, "Our school needs 45 laptops next term, is there a discount?")
    # no number of its kind: another item of the list may still be met
    assert matched(
        judge, SCHOOLS, "We're a primary school: could we sign a framework agreement with you?"
    )


MEMBERSHIP = TriggerCondition(
    label="Leaving",
    description="Escalate when the customer wants to end their gym membership, or to freeze "
    "it for more than 2 months.",
)


def test_the_clause_a_number_rules_out_is_not_met_by_its_sibling(judge: EmbeddedJudge) -> None:
    assert not matched(
        judge, MEMBERSHIP, "Can I freeze my gym membership for 3 weeks? I'm travelling."
    )
    assert matched(judge, MEMBERSHIP, "Please end my gym membership, I'm moving away.")


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
