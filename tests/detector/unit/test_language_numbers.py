"""Amounts, quantities and limits: what similarity cannot compare."""

import pytest

from detector.language.conditions import _clauses
from detector.language.lexicon import fold
from detector.language.numbers import Kind, Limit, Quantity, durations, limits, quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("about $3,400 in total", Quantity(3400, Kind.MONEY)),
        ("um carrinho de R$ 2.500,00", Quantity(2500, Kind.MONEY)),
        ("a €1.2k basket", Quantity(1200, Kind.MONEY)),
        ("1500 euros", Quantity(1500, Kind.MONEY)),
        ("we need 350 tote bags", Quantity(350, Kind.COUNT)),
        ("it's been two weeks", Quantity(14, Kind.DAYS)),
        ("in 3 hours", Quantity(3 / 24, Kind.DAYS)),
        ("hundreds of mugs", Quantity(200, Kind.COUNT)),
        ("I have 48k followers", Quantity(48_000, Kind.COUNT, "followers")),
        ("créatrice déco (48 k abonnés)", Quantity(48_000, Kind.COUNT, "abonnes")),
        ("tengo 15 mil seguidores", Quantity(15_000, Kind.COUNT, "seguidores")),
        ("1,2 Mio. Follower auf TikTok", Quantity(1_200_000, Kind.COUNT, "follower auf tiktok")),
    ],
)
def test_quantities(text: str, expected: Quantity) -> None:
    assert expected in quantities(fold(text))


@pytest.mark.parametrize(
    "text",
    ["order #55120", "size 9.5 and 52 cm", "back in 2027", "pedido 88412"],
)
def test_references_and_measures_are_not_counts(text: str) -> None:
    assert not [q for q in quantities(fold(text)) if q.kind is Kind.COUNT]


@pytest.mark.parametrize(
    "text",
    [
        "Ah, that's a shame. I'll cancel at the end of the month then.",
        "ah ok, so not before next week",
        "Ah well, the year is nearly over anyway.",
    ],
)
def test_a_number_word_glued_to_a_unit_is_no_duration(text: str) -> None:
    # "ah" is not "a h" (an hour): only digits may touch their unit
    assert not [q for q in quantities(fold(text)) if q.kind is Kind.DAYS]


@pytest.mark.parametrize(
    ("text", "days"),
    [("back in 2 hours", 2 / 24), ("Ah, an hour then", 1 / 24), ("a two-week pause", 14)],
)
def test_durations_beside_an_interjection(text: str, days: float) -> None:
    assert [q.value for q in quantities(fold(text)) if q.kind is Kind.DAYS] == [pytest.approx(days)]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("more than 100 units", Limit(">", 100, Kind.COUNT)),
        ("a cart worth over $2,000", Limit(">", 2000, Kind.MONEY)),
        ("at least 50 items", Limit(">=", 50, Kind.COUNT)),
        ("10+ days late", Limit(">=", 10, Kind.DAYS)),
        ("mehr als 20 Stück", Limit(">", 20, Kind.COUNT)),
        ("pedidos de más de 500 €", Limit(">", 500, Kind.MONEY)),
        ("baskets of $300 or more", Limit(">=", 300, Kind.MONEY)),
        ("250 pieces or more in one order", Limit(">=", 250, Kind.COUNT)),
        ("40 Stück oder mehr", Limit(">=", 40, Kind.COUNT)),
        ("pedidos de 60 unidades o más", Limit(">=", 60, Kind.COUNT)),
        ("12 articles ou moins", Limit("<=", 12, Kind.COUNT)),
        # comparatives after the number
        ("payment terms of net 45 days or longer", Limit(">=", 45, Kind.DAYS)),
        ("a stay of 3 weeks or shorter", Limit("<=", 21, Kind.DAYS)),
        ("Zahlungsziel von 30 Tagen oder länger", Limit(">=", 30, Kind.DAYS)),
        ("guests aged 75 or older", Limit(">=", 75, Kind.COUNT)),
        # comparatives in the other languages
        ("die Pause länger als 3 Wochen dauert", Limit(">", 21, Kind.DAYS)),
        ("eine Lieferung kürzer als 2 Tage", Limit("<", 2, Kind.DAYS)),
        ("un séjour plus long que 10 jours", Limit(">", 10, Kind.DAYS)),
        ("una reserva más cara que 900 €", Limit(">", 900, Kind.MONEY)),
    ],
)
def test_limits(condition: str, expected: Limit) -> None:
    assert limits(fold(condition)) == [expected]


def test_a_scaled_limit_names_what_it_counts() -> None:
    assert limits(fold("mais de 10 mil seguidores")) == [
        Limit(">", 10_000, Kind.COUNT, "seguidores")
    ]


def test_repeat_counts_after_the_number_are_no_limits() -> None:
    assert limits(fold("has written in 4 times or more")) == []


def test_limits_compare_only_their_kind() -> None:
    limit = Limit(">", 100, Kind.COUNT)
    assert limit.holds(Quantity(500, Kind.COUNT))
    assert not limit.holds(Quantity(4, Kind.COUNT))
    assert not limit.holds(Quantity(500, Kind.MONEY))


@pytest.mark.parametrize(
    ("description", "clauses"),
    [
        (
            "Escalate when user expresses anger, repeated complaint, or asks immediate human "
            "intervention.",
            ["expresses anger", "repeated complaint", "asks immediate human intervention"],
        ),
        (
            "Escalate when the customer mentions an order or cart worth more than $2,000.",
            ["mentions an order or cart worth more than $2,000"],
        ),
        ("Eskalieren, wenn der Kunde mit einem Anwalt droht.", ["mit einem Anwalt droht"]),
    ],
)
def test_conditions_split_into_clauses(description: str, clauses: list[str]) -> None:
    assert _clauses(description) == clauses


@pytest.mark.parametrize(
    ("text", "days"),
    [
        # Word numbers that begin alike: the longest reading that is followed by a unit wins.
        ("a couple of days", [2.0]),
        ("an hour", [1 / 24]),
        ("a few weeks", [21.0]),
        ("a hundred days", [100.0]),
        ("one a day", [1.0]),
        ("acht Tage", [8.0]),
        ("quinze jours", [15.0]),
        ("zwei Wochen", [14.0]),
        ("three-weeks", [21.0]),
        ("2days", [2.0]),
        ("cinco dias e 2 horas", [5.0, 2 / 24]),
    ],
)
def test_durations(text: str, days: list[float]) -> None:
    assert durations(fold(text)) == [Quantity(value, Kind.DAYS) for value in days]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("returns asked for within 30 days of delivery", Limit("<=", 30, Kind.DAYS)),
        ("innerhalb von 14 Tagen nach Lieferung", Limit("<=", 14, Kind.DAYS)),
    ],
)
def test_within_a_period_is_a_limit(condition: str, expected: Limit) -> None:
    assert limits(fold(condition)) == [expected]


def test_a_term_is_not_time_that_passed() -> None:
    found = quantities(fold("Six weeks into my 24-month warranty the hinge snapped."))
    assert found == [Quantity(42, Kind.DAYS)]
    assert quantities(fold("after a 3-week wait")) == [Quantity(21, Kind.DAYS)]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("the basket exceeds the $750 mark", Limit(">", 750, Kind.MONEY)),
        ("a personalised note longer than 40 characters", Limit(">", 40, Kind.COUNT)),
        ("a parcel heavier than 20 boxes", Limit(">", 20, Kind.COUNT)),
        ("una compra que supera los 2.300 €", Limit(">", 2300, Kind.MONEY)),
        ("si el presupuesto excede 900 euros", Limit(">", 900, Kind.MONEY)),
        ("quando a fatura ultrapassa os R$ 4.000", Limit(">", 4000, Kind.MONEY)),
        ("wenn die Rechnung 600 € übersteigt", Limit(">", 600, Kind.MONEY)),
        ("wenn der Betrag überschreitet 800 €", Limit(">", 800, Kind.MONEY)),
        ("un panier dépassant les 350 €", Limit(">", 350, Kind.MONEY)),
        ("si la facture excède 1 200 €", Limit(">", 1200, Kind.MONEY)),
        ("a refund lower than $15", Limit("<", 15, Kind.MONEY)),
        ("quando o pedido passa de R$ 2.000", Limit(">", 2000, Kind.MONEY)),
        ("si la factura pasa de 300 €", Limit(">", 300, Kind.MONEY)),
        ("un pedido mayor a 150 unidades", Limit(">", 150, Kind.COUNT)),
        ("uma compra maior que R$ 900", Limit(">", 900, Kind.MONEY)),
    ],
)
def test_verbs_and_comparatives_of_exceeding_are_limits(condition: str, expected: Limit) -> None:
    assert limits(fold(condition)) == [expected]


def test_a_comparator_inside_a_word_is_none() -> None:
    assert limits(fold("our turnover 300 units")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we roast about 3 kg a week", Quantity(3, Kind.WEIGHT)),
        ("unos 1,5 kilos de harina", Quantity(1.5, Kind.WEIGHT)),
        ("ein Sack mit 500 g Mehl", Quantity(0.5, Kind.WEIGHT)),
        ("un colis de 12 kg", Quantity(12, Kind.WEIGHT)),
        ("uma caixa de 20 quilos", Quantity(20, Kind.WEIGHT)),
    ],
)
def test_weights_are_no_counts(text: str, expected: Quantity) -> None:
    found = quantities(fold(text))
    assert expected in found
    assert all(q.kind is not Kind.COUNT for q in found)


def test_a_weight_limit_compares_weights_only() -> None:
    (limit,) = limits(fold("a café that wants more than 20 kg of beans a month"))
    assert limit == Limit(">", 20, Kind.WEIGHT)
    assert not any(limit.holds(q) for q in quantities(fold("we'd need 30 bags, 4 kg in all")))
    assert any(limit.holds(q) for q in quantities(fold("around 25 kg every month")))


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("the glasses are about four years old", 4 * 365),
        ("compré el sofá hace 2 años", 2 * 365),
        ("das Rad ist drei Jahre alt", 3 * 365),
        ("acheté il y a 2 ans", 2 * 365),
        ("comprei há dois anos", 2 * 365),
    ],
)
def test_years_are_durations(text: str, days: float) -> None:
    assert quantities(fold(text)) == [Quantity(days, Kind.DAYS)]


def test_an_age_limit_is_read_in_years() -> None:
    (limit,) = limits(fold("un menor de menos de 16 años"))
    assert limit.holds(quantities(fold("tengo 15 años"))[0])
    assert not limit.holds(quantities(fold("tengo 17 años"))[0])


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("We're away from 3 to 16 March, can the box skip those weeks?", 14),
        ("Wir sind vom 20. Juli bis 4. August verreist.", 16),
        ("Estaremos fuera del 1 al 10 de octubre.", 10),
        ("Nous partons du 5 au 9 mai.", 5),
        ("Out of office June 28 - July 2.", 5),
    ],
)
def test_a_date_range_is_a_duration(text: str, days: float) -> None:
    assert [q.value for q in quantities(fold(text)) if q.kind is Kind.DAYS] == [days]


@pytest.mark.parametrize(
    "text", ["Order 12 may arrive late", "Room 2 to 4 on the 3rd floor", "from 3 to 5 pm"]
)
def test_numbers_beside_a_month_word_are_no_range(text: str) -> None:
    assert not [q for q in quantities(fold(text)) if q.kind is Kind.DAYS]
