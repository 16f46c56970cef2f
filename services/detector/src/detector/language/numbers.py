"""Amounts, quantities and durations in messages, and numeric limits in trigger conditions.

Similarity cannot tell "4 yoga blocks" from "500 sets" against "more than 100 units", so
numbers are parsed and compared. Works on folded text (see ``lexicon.fold``).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    MONEY = "money"
    COUNT = "count"
    PEOPLE = "people"
    """A count of people ("5 adults", "on sera 10"): a group size, not 40 canapés."""
    DAYS = "days"
    WEIGHT = "kg"
    """A weight, in kilograms ("2 kg of coffee a month", "500 g"): no count of items."""


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    kind: Kind
    after: str = field(default="", compare=False)
    """The words right after a count ("a5 flyers double"): what it counts, for a condition
    that sets a different limit for each thing ("20,000 flyers or 500 posters")."""


@dataclass(frozen=True, slots=True)
class Limit:
    """``value`` compared with ``op`` (``>``, ``>=``, ``<``, ``<=``) for numbers of ``kind``."""

    op: str
    value: float
    kind: Kind
    noun: str = field(default="", compare=False)
    """The word after the number ("posters" in "more than 500 posters"), if any."""

    def names(self, quantity: Quantity) -> bool:
        """Whether ``quantity`` counts the very thing this limit names ("5,000 A5 flyers" for
        "more than 20,000 flyers"), by the stem of the noun."""
        stem = self.noun[: max(4, len(self.noun) - 2)]
        return bool(self.noun) and any(word.startswith(stem) for word in quantity.after.split())

    def holds(self, quantity: Quantity) -> bool:
        if not self.measures(quantity):
            return False
        match self.op:
            case ">":
                return quantity.value > self.value
            case ">=":
                return quantity.value >= self.value
            case "<":
                return quantity.value < self.value
            case _:
                return quantity.value <= self.value

    def measures(self, quantity: Quantity) -> bool:
        """Whether ``quantity`` is what this limit bounds: people count as tickets or seats
        ("12 of us" for "more than 10 tickets"), other things never as people."""
        return quantity.kind is self.kind or (
            self.kind is Kind.COUNT and quantity.kind is Kind.PEOPLE
        )


_WORD_NUMBERS = {
    # en
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "fifty": 50, "hundred": 100, "a hundred": 100, "a dozen": 12, "dozen": 12,
    "a couple of": 2, "couple of": 2, "a few": 3, "several": 3, "a thousand": 1000,
    # es / pt
    "un": 1, "una": 1, "uno": 1, "um": 1, "uma": 1, "dos": 2, "dois": 2, "duas": 2, "tres": 3,
    "cuatro": 4, "quatro": 4, "cinco": 5, "seis": 6, "siete": 7, "sete": 7, "ocho": 8, "oito": 8,
    "diez": 10, "dez": 10, "quince": 15, "quinze": 15, "veinte": 20, "vinte": 20, "cien": 100,
    "cem": 100, "mil": 1000,
    # de
    "ein": 1, "eine": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "zehn": 10, "zwanzig": 20, "hundert": 100, "tausend": 1000,
    # fr
    "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "dix": 10,
    "quinze ": 15, "vingt": 20, "cent": 100, "mille": 1000,
}  # fmt: skip

_NUMBER = r"(?:\d{1,3}(?:[ ,.]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?)"


def _by_first_letter(words: list[str]) -> str:
    """The alternation ``w1|w2|...`` of ``words`` (in that order, escaped), grouped by first
    character: ``a(?:\\ few|n|)|t(?:hree|wo)|...``. Words with different first characters never
    match at the same place, and within a group the order is kept, so it matches exactly what
    the flat alternation matches; but the regex engine tests one character per group instead of
    every word at every word boundary (durations are read in every message with a time unit)."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(
        re.escape(first) + (rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})")
        for first, rests in groups.items()
    )


# Longest (escaped) first, the order of the flat alternation this used to be.
_WORD_NUMBER = _by_first_letter(
    sorted(_WORD_NUMBERS, key=lambda word: len(re.escape(word)), reverse=True)
)
_WORD_NUMBER_FIRST = re.escape("".join(sorted({w[0] for w in _WORD_NUMBERS})))
# What a scale word multiplies by: "1.2k", "15 mil", "1,2 Mio.".
_SCALES = {
    "k": 1e3, "mil": 1e3, "thousand": 1e3, "tausend": 1e3, "tsd": 1e3, "mille": 1e3, "m": 1e6,
    "mio": 1e6, "million": 1e6, "millions": 1e6, "millones": 1e6, "milhoes": 1e6,
    "millionen": 1e6,
}  # fmt: skip
# The scales of an amount of money ("€1.2k", "$2m").
_SCALE_WORDS = r"k|m|mil|thousand|million|tausend|mille"
_CURRENCY_BEFORE = r"(?:r\$|us\$|\$|€|£|usd|eur|gbp|brl|chf)"
_CURRENCY_AFTER = (
    r"(?:\$|€|£|usd|eur|gbp|brl|chf|dollars?|bucks|euros?|pounds?|reais|dolares"
    r"|libras?)"
)

_MONEY = re.compile(
    rf"(?:{_CURRENCY_BEFORE}\s?(?P<a>{_NUMBER})(?:\s?(?P<sa>{_SCALE_WORDS})\b)?)"
    rf"|(?:(?P<b>{_NUMBER})(?:\s?(?P<sb>{_SCALE_WORDS})\b)?\s?{_CURRENCY_AFTER}(?!\w))"
)
_DAY_UNITS = {
    "hour": 1 / 24, "hours": 1 / 24, "hrs": 1 / 24, "h": 1 / 24, "horas": 1 / 24,
    "stunden": 1 / 24, "heures": 1 / 24, "day": 1, "days": 1, "dias": 1, "tage": 1, "tagen": 1,
    "jours": 1, "business days": 1, "working days": 1, "week": 7, "weeks": 7, "semana": 7,
    "semanas": 7, "woche": 7, "wochen": 7, "semaine": 7, "semaines": 7, "month": 30,
    "months": 30, "mes": 30, "meses": 30, "monat": 30, "monate": 30, "monaten": 30, "mois": 30,
    "year": 365, "years": 365, "yrs": 365, "ano": 365, "anos": 365, "jahr": 365, "jahre": 365,
    "jahren": 365, "ans": 365, "annee": 365, "annees": 365,
}  # fmt: skip
_DAY_UNIT = "|".join(sorted((re.escape(u) for u in _DAY_UNITS), key=len, reverse=True))
# Digits may touch their unit ("2h", "3days"); a number word may not: "ah", "ash" are no hours.
_DURATION = re.compile(
    rf"\b(?=[\d{_WORD_NUMBER_FIRST}])(?P<n>{_NUMBER}|(?:{_WORD_NUMBER})(?=[\s-]))[\s-]*"
    rf"(?P<unit>{_DAY_UNIT})\b"
)
_WEIGHT_UNITS = {
    "kg": 1.0, "kgs": 1.0, "kilo": 1.0, "kilos": 1.0, "kilogram": 1.0, "kilograms": 1.0,
    "kilogramm": 1.0, "kilogramme": 1.0, "kilogrammes": 1.0, "kilogramo": 1.0,
    "kilogramos": 1.0, "quilo": 1.0, "quilos": 1.0, "quilograma": 1.0, "quilogramas": 1.0,
    "g": 0.001, "gr": 0.001, "gram": 0.001, "grams": 0.001, "gramm": 0.001, "gramme": 0.001,
    "grammes": 0.001, "gramo": 0.001, "gramos": 0.001, "grama": 0.001, "gramas": 0.001,
    "lb": 0.4536, "lbs": 0.4536, "oz": 0.02835, "tonne": 1000.0, "tonnes": 1000.0,
    "tonnen": 1000.0, "toneladas": 1000.0,
}  # fmt: skip
_WEIGHT_UNIT = "|".join(sorted((re.escape(u) for u in _WEIGHT_UNITS), key=len, reverse=True))
# Digits only: "a g", "un t" are no weights.
_WEIGHT = re.compile(rf"(?<![\w.,])(?P<n>{_NUMBER})\s?-?(?P<unit>{_WEIGHT_UNIT})\b")
_ANY_WEIGHT = re.compile(rf"\d\s?-?(?:{_WEIGHT_UNIT})\b")
# Numbers that are not quantities of goods: order numbers, model names, sizes, times.
_NOT_COUNT_BEFORE = re.compile(
    r"(#|no\.?|nr\.?|n°|nº|order|pedido|commande|bestellung|encomenda|number|numero|ref|"
    r"size|talla|grosse|taille|tamanho|model|modelo|version|v|error|code|error code|"
    r"rated|at|the|page|step|chapter|room|apt|suite|gate|line|x|"
    # a day of the month: "the show on the 30", "do dia 30", "am 30.", "le 30"
    r"dia|day|tag|jour|le|am|el|on)\s*$"
)
_NOT_COUNT_AFTER = re.compile(
    r"^[\s-]*(%|°|cm|mm|m\b|km|kg|g\b|gb|tb|mb|w\b|kw|v\b|mah|ml|l\b|oz|lb|lbs|in\b|inch|inches|"
    r"ft|feet|mph|rpm|hz|fps|x\b|am\b|pm\b|h\b|min|mins|minutes|seconds|s\b|years?|anos|anos|"
    r"jahre|jahrig\w*|ans|th\b|st\b|nd\b|rd\b|points?|stars?|[/:.-]\d)"
)
_COUNT = re.compile(rf"(?<![\w#$€£.,/-])(?P<n>{_NUMBER})(?:\s?\+)?(?=[\s-]+\w)")
# The scales of a count: "48k followers", "48 k abonnés", "15 mil seguidores", "1,2 Mio.
# Follower" ("m" is left out: "2m" is as often metres as millions).
_COUNT_SCALE_WORDS = "|".join(w for w in _SCALES if w not in ("m", "mille"))
_SCALED_COUNT = re.compile(
    rf"(?<![\w#$€£.,/-])(?P<n>{_NUMBER})\s?(?P<scale>{_COUNT_SCALE_WORDS})\b\.?"
    r"(?:\s?\+)?(?=[\s-]+\w)"
)
# What a count counts: the words after it in a message, the noun after it in a limit.
_COUNTED_WORD = re.compile(r"[a-z][a-z0-9'-]*")
_NOUN_AFTER = re.compile(rf"{_NUMBER}\s*(?:(?:{_COUNT_SCALE_WORDS})\b\.?)?\s+(?P<noun>[a-z]{{3,}})")
_MANY = re.compile(
    r"\b(?P<w>hundreds|thousands|cientos|centenares|miles|hunderte|tausende|centaines|milliers|"
    r"centenas|milhares) (?:of|de|von|d')"
)


_GROUPED = re.compile(r"(\d{1,3}(?:[ ,.]\d{3})+)(?:[.,](\d{1,2}))?")


def _to_float(token: str) -> float | None:
    token = token.strip()
    if token in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[token])
    grouped = _GROUPED.fullmatch(token)
    if grouped:
        # "1,200", "1.200", "2 000", "3,400.50", "2.000,00": group separators, then decimals.
        whole = float(re.sub(r"\D", "", grouped[1]))
        return whole + (float("0." + grouped[2]) if grouped[2] else 0.0)
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def _scaled(value: float, scale: str | None) -> float:
    return value * _SCALES[scale] if scale else value


_ANY_DIGIT = re.compile(r"\d")
_ANY_CURRENCY = re.compile(
    r"[$€£]|\b(usd|eur|gbp|brl|chf|dollars?|bucks|euros?|pounds?|reais|dolares|libras?)\b"
)
_ANY_UNIT = re.compile(rf"\b({_DAY_UNIT})\b")


def quantities(
    folded: str,
    currency: bool | None = None,
    time_unit: bool | None = None,
    month: bool | None = None,
) -> list[Quantity]:
    """Money amounts, counts of things and durations (in days) mentioned in ``folded``.

    ``currency`` / ``time_unit`` / ``month``: whether the text names any, when the caller
    already knows (the lexicon scan does); the full patterns are costly and most messages name
    none.
    """
    taken: list[tuple[int, int]] = []
    found: list[Quantity] = []
    digits = bool(_ANY_DIGIT.search(folded))
    if currency is None:
        currency = bool(_ANY_CURRENCY.search(folded))
    if time_unit is None:
        time_unit = bool(_ANY_UNIT.search(folded))
    if month is None:
        month = bool(_ANY_MONTH.search(folded))
    if digits and currency:
        found.extend(_money(folded, taken))
    if time_unit:
        found.extend(_durations(folded, taken))
    if digits and month:
        found.extend(_date_ranges(folded, taken))
    if _ANY_WEIGHT.search(folded):
        found.extend(_weights(folded, taken))
    if digits:
        found.extend(_counts(folded, taken))
    found.extend(_many(folded))
    return found


def _money(folded: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    found = []
    for match in _MONEY.finditer(folded):
        value = _to_float(match.group("a") or match.group("b"))
        if value is not None:
            scale = match.group("sa") or match.group("sb")
            found.append(Quantity(_scaled(value, scale), Kind.MONEY))
            taken.append(match.span())
    return found


def durations(folded: str) -> list[Quantity]:
    """The durations (in days) mentioned in ``folded``."""
    return _durations(folded, [])


_TERM = re.compile(
    r"\d+-(day|week|month|year)\s+(warranty|guarantee|return|returns|trial|subscription|plan|"
    r"contract|window|policy|period|money-back|membership|lease)\b"
)


def _durations(folded: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    found = []
    for match in _DURATION.finditer(folded):
        value = _to_float(match.group("n"))
        taken.append(match.span())
        if _TERM.match(folded, match.start("n")):
            continue  # "a 12-month warranty", "30-day returns": a term, not time that passed
        if value is not None:
            found.append(Quantity(value * _DAY_UNITS[match.group("unit")], Kind.DAYS))
    return found


# Month names, folded, in the five languages (with the usual abbreviations), and their lengths.
_MONTH_NAMES = (
    ("january jan enero januar janvier janeiro", 31),
    ("february feb febrero februar fevrier fevereiro", 28),
    ("march mar marzo marz mars marco", 31),
    ("april apr abril avril", 30),
    ("may mayo mai maio", 31),
    ("june jun junio juni juin junho", 30),
    ("july jul julio juli juillet julho", 31),
    ("august aug agosto aout", 31),
    ("september sept sep septiembre setiembre septembre setembro", 30),
    ("october oct octubre oktober octobre outubro", 31),
    ("november nov noviembre novembre novembro", 30),
    ("december dec diciembre dezember decembre dezembro", 31),
)
_MONTH = {name: i for i, (names, _days) in enumerate(_MONTH_NAMES) for name in names.split()}
MONTH_WORDS = tuple(_MONTH)
"""Every month name above: the cue lexicon's ``month`` group, which gates ``_DATE_RANGE``."""
_MONTH_NAME = "|".join(sorted(_MONTH, key=len, reverse=True))
_DAY = r"(?:the\s+)?(?P<{}>[0-3]?\d)(?:st|nd|rd|th|er|eme|o|º|\.)?"
# "from 2 to 12 August", "vom 2. bis 12. August", "del 2 al 12 de agosto", "du 28 juillet au
# 3 août", "2-12 Aug", "August 2 to 12", "July 28 - August 3": a stay or an absence, in days.
_DATE_RANGE = re.compile(
    rf"\b{_DAY.format('d1')}(?:\s+(?:of\s+|de\s+)?(?P<m1>{_MONTH_NAME})\b\.?)?"
    r"\s*(?:-|to|till|until|through|bis|zum|al|hasta|au|jusqu'au|a|ao|ate)\s*"
    rf"{_DAY.format('d2')}\s+(?:of\s+|de\s+)?(?P<m2>{_MONTH_NAME})\b"
    rf"|\b(?P<m3>{_MONTH_NAME})\.?\s+{_DAY.format('d3')}\s*(?:-|to|till|until|through)\s*"
    rf"(?:(?P<m4>{_MONTH_NAME})\.?\s+)?{_DAY.format('d4')}\b"
)
_ANY_MONTH = re.compile(rf"\b(?:{_MONTH_NAME})\b")


def _span_days(first: int, first_month: int, last: int, last_month: int) -> int | None:
    """Calendar days from one date to another, both counted; None when it is no range."""
    if first_month == last_month:
        return last - first + 1 if 1 <= first < last <= 31 else None
    if (last_month - first_month) % 12 != 1 or not (1 <= first <= 31 and 1 <= last <= 31):
        return None  # two dates months apart, or no dates at all
    return _MONTH_NAMES[first_month][1] - first + 1 + last


def _date_ranges(folded: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    found = []
    for match in _DATE_RANGE.finditer(folded):
        # day first ("2 to 12 August": the first month is the last one unless named) or
        # month first ("August 2 to 12": the last month is the first one unless named)
        if match["m2"]:
            first, first_month = match["d1"], match["m1"] or match["m2"]
            last, last_month = match["d2"], match["m2"]
        else:
            first, first_month = match["d3"], match["m3"]
            last, last_month = match["d4"], match["m4"] or match["m3"]
        days = _span_days(int(first), _MONTH[first_month], int(last), _MONTH[last_month])
        if days is not None:
            found.append(Quantity(float(days), Kind.DAYS))
            taken.append(match.span())
    return found


def _weights(folded: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    found = []
    for match in _WEIGHT.finditer(folded):
        if any(a <= match.start() < b for a, b in taken):
            continue
        value = _to_float(match.group("n"))
        if value is not None:
            found.append(Quantity(value * _WEIGHT_UNITS[match.group("unit")], Kind.WEIGHT))
            taken.append(match.span())
    return found


# A floor, written as an ordinal: "au 6e", "3e étage", "4th floor", "3. Stock", "4º andar".
_FLOOR = re.compile(
    r"\b(?P<n>\d{1,2})(?:e|eme|er|th|st|nd|rd|\.|º|°|o)?\s?"
    r"(?:etage|floor|stock|obergeschoss|og|andar|piso|planta)\b"
    r"|\bau (?P<m>\d{1,2})(?:e|eme)\b"
)


_PEOPLE_WORDS = (
    r"people|persons?|guests?|adults?|kids|children|participants?|attendees?|employees?|"
    r"colleagues?|staff|students?|pupils?|riders?|players?|members?|friends?|"
    r"personas|invitados|adultos|ninos|participantes|empleados|companeros|alumnos|amigos|"
    r"pessoas|convidados|criancas|funcionarios|colegas|amigas|"
    r"personen|gaste|erwachsene|kinder|teilnehmer\w*|mitarbeiter\w*|kollegen|schuler\w*|"
    r"leute|freunde|personnes|invites|adultes|enfants|collaborateurs|collegues|eleves|amis"
)
_PEOPLE_AFTER = re.compile(rf"[\s-]*(?:\w+\s)?(?:{_PEOPLE_WORDS})\b")
# "we are 14", "somos 35", "on sera 10", "wir sind 12", "14 of us", "a group of 9"
_PEOPLE_GROUP = re.compile(
    r"\b(?:we(?:'ll| will)? be|we are|we're|there are|there will be|somos|seremos|seremos unos|"
    r"vamos a ser|on sera|on est|nous serons|nous sommes|wir sind|wir werden|wir kommen zu|"
    r"group of|grupo de|gruppe von|groupe de|party of|table for|mesa para)\s(?P<n>\d+)\b"
    r"|\b(?P<m>\d+) of us\b"
)


_FLOOR_WORDS = ("etage", "floor", "stock", "og", "andar", "piso", "planta", "au ")
_GROUP_WORDS = (
    "we", "there", "somos", "seremos", "vamos a", "on sera", "on est", "nous", "wir", "group",
    "grupo", "gruppe", "groupe", "party", "table", "mesa", "of us",
)  # fmt: skip


def _counted(folded: str, end: int) -> str:
    """The words right after a count ending at ``end``: what it counts."""
    return " ".join(_COUNTED_WORD.findall(folded, end, end + 40)[:3])


def _counts(folded: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    """Numbers before a word that are not money, durations, references or measures."""
    found = []
    # (each pattern only where one of its words occurs: most numbers are neither)
    if any(word in folded for word in _FLOOR_WORDS):
        for match in _FLOOR.finditer(folded):
            found.append(Quantity(float(match["n"] or match["m"]), Kind.COUNT))
            taken.append(match.span())
    if any(word in folded for word in _GROUP_WORDS):
        for match in _PEOPLE_GROUP.finditer(folded):
            found.append(Quantity(float(match["n"] or match["m"]), Kind.PEOPLE))
            taken.append(match.span())
    for match in _SCALED_COUNT.finditer(folded):
        value = _to_float(match["n"])
        if value is not None and not any(a <= match.start() < b for a, b in taken):
            counted = _counted(folded, match.end())
            found.append(Quantity(_scaled(value, match["scale"]), Kind.COUNT, counted))
            taken.append(match.span())
    for match in _COUNT.finditer(folded):
        start, end = match.span("n")
        if (
            any(a <= start < b for a, b in taken)
            or _NOT_COUNT_BEFORE.search(folded[max(0, start - 12) : start])
            or _NOT_COUNT_AFTER.match(folded[end : end + 8])
        ):
            continue
        token = match.group("n")
        value = _to_float(token)
        if value is not None and not (1900 <= value <= 2100 and "." not in token):
            people = _PEOPLE_AFTER.match(folded, end)
            after = _counted(folded, end)
            found.append(Quantity(value, Kind.PEOPLE if people else Kind.COUNT, after))
    return found


def _many(folded: str) -> list[Quantity]:
    return [
        Quantity(
            2000.0
            if match["w"] in ("thousands", "miles", "tausende", "milliers", "milhares")
            else 200.0,
            Kind.COUNT,
        )
        for match in _MANY.finditer(folded)
    ]


_COMPARATORS: tuple[tuple[str, str], ...] = (
    (r"(?:at least|no (?:less|fewer) than|minimum(?: of)?|min\.?|mindestens|au moins|"
     r"al menos|pelo menos|como minimo|no minimo|"
     # where a range starts: "ab 50 Stück", "a partir de 20 ingressos", "desde 10 unidades",
     # "à partir de 300 €", "from 50 units", "starting at $500"
     r"ab|a partir d(?:e|el|o|a|es|os|as)|desde|from|starting (?:at|from))", ">="),
    (r"(?:more than|over|above|exceed(?:s|ed|ing)?|greater than|larger than|bigger than|"
     r"(?:longer|higher|taller|heavier|wider|more expensive|pricier|costlier) than|"
     r"(?:langer|hoher|grosser|teurer|schwerer|breiter) als|"
     r"plus (?:long|longtemps|cher|chere|eleve|elevee|lourd|lourde|grand|grande) que|"
     r"mas (?:largo|larga|caro|cara|alto|alta|pesado|pesada|grande) que|"
     r"mais (?:longo|longa|caro|cara|alto|alta|pesado|pesada|grande) (?:que|do que)|"
     r"upwards of|in excess of|beyond|mas de|mas que|mehr als|uber|ueber|plus de|superieur a|"
     r"au-dela (?:de|du|des)|au dela (?:de|du|des)|mas alla de|"
     r"superior a|acima de|mais de|mais que|"
     # verbs of exceeding, as merchants write them: "supera los", "ultrapassa", "übersteigt",
     # "dépassant", "excède" (folded: no accents, "ß" as "ss")
     r"super(?:a|an|e|en|ar|ando|am|em)|exced(?:e|a|en|an|em|am|er|iendo|endo|ant|ent)|"
     r"ultrapass(?:a|e|am|em|ar|ando)|ubersteig(?:t|en|end)|uberschreit(?:et|en|end)|"
     r"depass(?:e|ent|ant|er)|"
     # "passa de R$ 2.000", "pasa de 500 €", "mayor a 100", "maior que 50"
     r"pass(?:a|am|ar|e|em|ando) d(?:e|os|as)|pas(?:a|an|ar|e|en) de|"
     r"mayor(?:es)? (?:a|que|de)|maior(?:es)? (?:que|de|do que)|>)", ">"),
    (r"(?:at most|no more than|up to|maximum(?: of)?|hochstens|au plus|como maximo|no maximo|"
     r"within|innerhalb von|innerhalb|dentro de|dans les|em ate)",
     "<="),
    (r"(?:less than|fewer than|under|below|"
     r"(?:shorter|lower|smaller|cheaper|lighter) than|weniger als|unter|moins de|menos de|"
     r"(?:kurzer|niedriger|kleiner|billiger|leichter) als|plus court que|plus courte que|"
     r"mas corto que|mas corta que|mas barato que|mas barata que|mais curto que|mais curta que|"
     r"mais barato que|mais barata que|"
     r"inferieur a|inferior a|abaixo de|por debajo de|<)", "<"),
)  # fmt: skip
# The article a verb of comparison takes before the amount: "supera los 1.500 €", "dépasse
# les 300 €", "excede os 200 €", "exceeds the $500".
_ARTICLE = r"(?:(?:the|los|las|el|la|les|le|l'|os|as|o|a|die|der|den|das)\s+)?"
_LIMIT = re.compile(
    r"(?<!\w)(?P<cmp>" + "|".join(pattern for pattern, _ in _COMPARATORS) + rf")\s*{_ARTICLE}"
    rf"(?P<q>(?:{_CURRENCY_BEFORE}\s?)?{_NUMBER}(?:\s?(?:{_SCALE_WORDS})\b)?(?:\s?\+)?"
    r"(?:\s?[\w$€£-]+)?)"
)
_PLUS = re.compile(rf"(?P<q>(?:{_CURRENCY_BEFORE}\s?)?{_NUMBER})\s?\+\s?(?P<unit>\w+)?")
_FEWER = frozenset(
    (
        "less", "fewer", "under", "weniger", "menos", "moins", "shorter", "younger", "smaller",
        "kurzer", "junger", "kleiner",
    )
)  # fmt: skip
_TIMES = re.compile(r"\b(times|mal|veces|fois|vezes)\b")
# The comparison after the number: "100 or more units", "50 oder mehr", "10 ou moins".
_AFTER = re.compile(
    rf"(?P<q>(?:{_CURRENCY_BEFORE}\s?)?{_NUMBER}(?:\s?(?:{_SCALE_WORDS})\b)?)(?:\s?[\w$€£-]+)?"
    r"\s+(?P<cmp>or more|or above|and above|and over|or over|or higher|oder mehr|o mas|ou plus|"
    r"ou mais|or less|or fewer|or under|and under|oder weniger|o menos|ou moins|ou menos|"
    # "net 60 days or longer", "aged 70 or older", "4 weeks or shorter"
    r"or longer|or older|or larger|or bigger|oder langer|oder alter|oder grosser|"
    r"or shorter|or younger|or smaller|oder kurzer|oder junger|oder kleiner|"
    r"ubersteigt|ubersteigen|uberschreitet|uberschreiten)\b"
    r"(?:\s(?P<unit>[\w$€£-]+))?"
)


def limits(folded_condition: str) -> list[Limit]:
    """Numeric limits a condition sets ("more than 100 units", "over $2,000", "10+ days")."""
    found: list[Limit] = []
    for match in _LIMIT.finditer(folded_condition):
        op = next(op for pattern, op in _COMPARATORS if re.fullmatch(pattern, match["cmp"]))
        found.extend(_limit(op, match["q"]))
    for match in _PLUS.finditer(folded_condition):
        found.extend(_limit(">=", match.group(0).replace("+", " ")))
    for match in _AFTER.finditer(folded_condition):
        if _TIMES.search(match.group(0)):
            continue  # "3 or more times" counts contacts, which ``matching`` compares
        last = match["cmp"].split()[-1]
        # German puts the verb last: "wenn der Warenkorb 600 € übersteigt" (strictly more)
        op = "<=" if last in _FEWER else ">" if last.startswith("uber") else ">="
        # the unit may stand before the comparison ("600 € übersteigt") or after it
        before = folded_condition[match.start("q") : match.start("cmp")]
        found.extend(_limit(op, f"{before} {match['unit'] or ''}"))
    return found


def limit_end(folded_condition: str) -> int | None:
    """Where the first limit of a condition ends, None when it sets none."""
    ends = [
        match.end()
        for pattern in (_LIMIT, _PLUS, _AFTER)
        for match in [pattern.search(folded_condition)]
        if match
    ]
    return min(ends, default=None)


def without_limits(folded_condition: str) -> str:
    """``folded_condition`` with its limits blanked out: what the numbers are about ("an
    engraving" in "an engraving longer than 30 characters")."""
    for pattern in (_LIMIT, _PLUS, _AFTER):
        folded_condition = pattern.sub(" ", folded_condition)
    return folded_condition


def _limit(op: str, phrase: str) -> list[Limit]:
    named = _NOUN_AFTER.search(phrase)
    noun = named["noun"] if named else ""
    quantity = quantities(phrase)
    if quantity:
        return [Limit(op, quantity[0].value, quantity[0].kind, noun)]
    number = re.search(rf"{_NUMBER}", phrase)
    value = _to_float(number.group(0)) if number else None
    return [] if value is None else [Limit(op, value, Kind.COUNT, noun)]


# Words that make amounts alternatives, changes, rates or parts of one another rather than
# items of one bill: "£40 instead of £25", "was €600, now €450", "£30 back of £90", "€20 a month",
# "2 cushions at R$ 130 each".
_NOT_A_TOTAL = re.compile(
    r"\b(?:instead|rather|was|were|now|then|before|after|reduced|discount\w*|off|refund\w*|back|"
    r"deposit|each|apiece|or|either|between|left|remaining|"
    r"cada|en vez|en lugar|antes|ahora|entre|"
    r"statt|anstatt|vorher|jetzt|jeweils|je|oder|zwischen|"
    r"au lieu|avant|maintenant|chacun\w*|ou|"
    r"em vez|ao inves|agora|"
    # a rate, not an item: "€20 a month", "monthly", "al mes", "pro Monat", "par mois", "ao mês"
    r"(?:a|per|an|each|every)\s(?:day|week|month|year)|daily|weekly|monthly|yearly|annually|"
    r"al (?:dia|mes|ano)|por (?:dia|semana|mes|ano)|mensual\w*|"
    r"pro (?:tag|woche|monat|jahr)|im monat|monatlich\w*|jahrlich\w*|"
    r"par (?:jour|semaine|mois|an)|mensuel\w*|ao (?:dia|mes|ano)|mensal\w*)\b"
)


def bill_total(found: Sequence[Quantity], folded: str) -> Quantity | None:
    """The sum of the amounts ``found`` in ``folded`` when they read as the items of one bill
    ("clutch kit £610, flywheel £540, plus labour" is over £1,000): at least two amounts, and
    no word that makes them alternatives, changes or rates (``_NOT_A_TOTAL``). None otherwise."""
    amounts = [quantity for quantity in found if quantity.kind is Kind.MONEY]
    if len(amounts) < 2 or _NOT_A_TOTAL.search(folded):
        return None
    return Quantity(sum(quantity.value for quantity in amounts), Kind.MONEY)
