"""Does a message satisfy a condition's clause? Concept detectors, number checks, similarity."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from detector.language import ConditionMatch
from detector.language.conditions import (
    Clause,
    ConditionPlan,
    Exclusion,
    concepts,
    content_stems,
    cue_urgency,
    keys_meet,
    word_keys,
)
from detector.language.lexical import NEGATION, Reading, repeated_share
from detector.language.lexicon import fold
from detector.language.numbers import Limit, Quantity, bill_total, without_limits
from escalator_schemas.classification import Urgency

STRONG = 0.85
UNSURE = 0.4
"""Some sign of the concept, not enough on its own (a repeat cue the history does not back)."""
ASKED = 0.1
"""A hazard asked about in general ("does the fire pit have a lid?") is not a hazard reported."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the judge already knows about the message when it checks conditions."""

    reading: Reading
    earlier: tuple[Reading, ...]
    anger: float
    urgency: float
    legal: float


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_FIRST_PERSON = re.compile(
    r"\b(i|i'm|i've|my|me|we|our|us|mine|yo|mi|me|nos|nuestro|ich|mein|meine|mir|mich|wir|"
    r"unser|je|j'|mon|ma|mes|moi|nous|eu|meu|minha|comigo|nos)\b|\bj'"
)
_ASKING = re.compile(
    r"^\W*(does|do|is|are|can|could|will|would|should|what if|how|which|any|est-ce|peut|"
    r"es|puede|ist|kann|e|pode)\b"
)


def _before_it_happens(reading: Reading) -> bool:
    """A shopper asking before buying, or a "what if": nothing has happened yet."""
    return reading.has("shopping") or reading.has("hypothetical")


def _reported(reading: Reading, group: str) -> float:
    """A hazard or health cue reported by the customer, not asked about in general (nor by a
    shopper before buying, nor in a "what if")."""
    if not reading.has(group):
        return 0.0
    if _before_it_happens(reading):
        return ASKED
    phrases = reading.hits[group]
    for sentence in _SENTENCE.findall(reading.folded):
        if not any(phrase in sentence for phrase in phrases):
            continue
        asking = _ASKING.match(sentence) and sentence.rstrip().endswith("?")
        if not asking or _FIRST_PERSON.search(sentence):
            return STRONG
    return ASKED


def _repeated(ctx: Context) -> float:
    """The customer raises the same complaint again (not merely a follow-up question)."""
    reading = ctx.reading
    if reading.has("repeat_strong"):
        return STRONG  # "for the third time", "zum dritten Mal"
    if not reading.has("repeat"):
        return 0.0
    if ctx.earlier and (repeated_share(reading, ctx.earlier) >= 0.2 or reading.elapsed_days >= 3):
        return STRONG
    return UNSURE


_COUNTS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "deux": 2, "trois": 3, "quatre": 4,
    "cinq": 5, "dois": 2, "duas": 2, "quatro": 4,
}  # fmt: skip
_ORDINALS = {
    "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5, "5th": 5,
    "sixth": 6, "6th": 6, "segunda": 2, "segundo": 2, "tercera": 3, "tercer": 3, "terceira": 3,
    "cuarta": 4, "quarta": 4, "quinta": 5, "zweite": 2, "zweiten": 2, "dritte": 3, "dritten": 3,
    "vierte": 4, "vierten": 4, "funfte": 5, "funften": 5, "deuxieme": 2, "seconde": 2,
    "troisieme": 3, "quatrieme": 4, "cinquieme": 5,
}  # fmt: skip
_NUMBER_WORD = r"(\d+|" + "|".join(_COUNTS) + ")"
_AT_LEAST = re.compile(
    rf"\b{_NUMBER_WORD}\s*(\+|or more|times or more|ou plus|o mas|oder mehr|ou mais)"
    rf"|\b(at least|mindestens|al menos|au moins|pelo menos|no minimo) {_NUMBER_WORD}\b"
)
_MORE_THAN = re.compile(
    rf"\b(more than|mehr als|mas de|plus de|mais de) {_NUMBER_WORD} (times|mal|veces|fois|vezes)"
)
_TOLD_ORDINAL = re.compile(
    r"\b(" + "|".join(_ORDINALS) + r")\s+(time|mal|vez|fois)\b"
    r"|\b(zum|das|por|pour la|pela|la|a)\s+(" + "|".join(_ORDINALS) + r")\b"
)
_TOLD_TIMES = re.compile(rf"\b{_NUMBER_WORD}\s*(times|mal|veces|fois|vezes)\b|\b(twice)\b")


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _COUNTS[word]


@lru_cache(maxsize=1024)
def contacts_needed(folded_clause: str) -> int | None:
    """How many contacts a repeat-contact clause asks for ("three or more times", "at least
    3", "more than twice"... as a count of contacts), None when it names no number."""
    match = _AT_LEAST.search(folded_clause)
    if match:
        return _number(match[1] or match[4])
    match = _MORE_THAN.search(folded_clause)
    return _number(match[2]) + 1 if match else None


def contacts_told(folded: str) -> int | None:
    """Which contact this is, by the customer's count ("the second time I ask", "zum dritten
    Mal", "I've written three times"), None when they give no count."""
    told = [_ORDINALS[m[1] or m[4]] for m in _TOLD_ORDINAL.finditer(folded)]
    told.extend(2 if m[3] else _number(m[1]) for m in _TOLD_TIMES.finditer(folded))
    return max(told, default=None)


def _health(ctx: Context) -> float:
    """A reaction reported, or an allergy or condition mentioned outside a question (a customer
    naming their allergy to ask about ingredients reports nothing)."""
    reading = ctx.reading
    reported = _reported(reading, "health")
    if reported or not reading.has("health_trait"):
        return reported
    return ASKED if "?" in reading.folded else STRONG


def _fraud(ctx: Context) -> float:
    """Fraud words, or a charge for a purchase the customer says they never made ("two charges
    on my statement, but I haven't ordered anything in a year"; the charge may be in an earlier
    message: "these three, at 3 am. I've never even heard of that site"): a denial inside a
    question ("I haven't ordered yet, will I be charged?") is not one."""
    reading = ctx.reading
    if reading.has("fraud"):
        return STRONG
    if not reading.has("purchase_denied"):
        return 0.0
    if not (reading.has("charged") or any(earlier.has("charged") for earlier in ctx.earlier)):
        return 0.0
    for sentence in _SENTENCE.findall(reading.folded):
        if any(p in sentence for p in reading.hits["purchase_denied"]) and "?" not in sentence:
            return STRONG
    return UNSURE


# "match their price", "igualar el precio", "den Preis unterbieten": a verb of matching a
# few words before a price word, within one sentence.
_PRICE_MATCH = re.compile(
    r"\b(match|beat|price[- ]?match|igualar?|igualan|igualais|cubrir|cobrir|cobrem|aligner|"
    r"alignez|aligne[rz]?-vous)\b[^\w.!?]+(?:\w+[^\w.!?]+){0,3}?(price|prices|offer|deal|quote|"
    r"precio|oferta|prix|offre|tarif|preco)\b"
    r"|\b(preis|angebot)\w*[^\w.!?]+(?:\w+[^\w.!?]+){0,3}?(mitgehen|anpassen|angleichen|"
    r"unterbieten|matchen)"
)


def _competitor(ctx: Context) -> float:
    """A competitor named by the cues, or a request to match or beat a price ("will you match
    their price?"): the competitor may be any shop's name."""
    reading = ctx.reading
    if reading.has("competitor"):
        return 0.8
    if reading.has("price") and _PRICE_MATCH.search(reading.folded):
        return 0.8
    return 0.0


# Who says they are a journalist or influencer: "I'm a", "as a", "je suis" right before the role.
_SELF_ROLE = re.compile(
    r"\b(i'm|im|i am|i work as|as|we're|we are|je suis|soy|somos|trabajo como|ich bin|wir sind|"
    r"als|sou|somos|trabalho como)\W+((a|an|un|una|une|um|uma|ein|eine|der|die)\W+)?"
    r"(\w+\W+){0,2}$"
)
# Whose outlet it is: "my blog", "our readers", "I write for a magazine".
_OWN_OUTLET = re.compile(
    r"\b(my|our|mon|ma|mes|notre|nos|mi|mis|nuestro|nuestra|nuestros|mein|meine|meinen|meiner|"
    r"unser|unsere|unseren|meu|minha|meus|minhas|nosso|nossa)\W+(\w+\W+){0,2}$"
    r"|\b(i write|i work|i run|i host|i edit|i'm writing|i am writing|i have|i've got|we run|"
    r"we have|j'ecris|je travaille|j'ai|escribo|trabajo|tengo|ich schreibe|ich arbeite|ich habe|"
    r"escrevo|trabalho|tenho)\b[^.!?]*$"
)
# Someone else's: "your collaboration with", "an influencer's video".
_OTHERS = re.compile(r"\b(your|their|his|her|votre|vos|su|sus|ihre|ihr|sua|seu)\W+(\w+\W+){0,1}$")


def _press(ctx: Context) -> float:
    """The customer says, in their own voice, that they are press or a creator, or proposes a
    collaboration; a creator merely mentioned ("I saw it on an influencer's post") is neither."""
    reading = ctx.reading
    folded = reading.folded
    for group, frame in (
        ("press_offer", None),
        ("press_person", _SELF_ROLE),
        ("press_outlet", _OWN_OUTLET),
    ):
        for phrase in reading.hits.get(group, ()):
            for match in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded):
                before = folded[max(0, match.start() - 60) : match.start()]
                if folded.startswith("'s", match.end()):
                    continue
                if frame is None and not _OTHERS.search(before):
                    return 0.8
                if frame is not None and frame.search(before):
                    return STRONG
    return 0.0


RULED_OUT = 0.05
"""The detector read its cue and ruled the clause out: similarity is not consulted."""

_MEMBER = r"(?:member|miembro|socio|socia|mitglied|membre|adherent|adherente|membro)"
# "I'm a Gold member", "soy socia Premium", "ich bin seit Jahren Mitglied": the customer's
# own claim; "not a member yet", "become a member" claim nothing.
_MEMBER_CLAIM = re.compile(
    r"\b(i'm|im|i am|i've been|ive been|we're|we are|soy|somos|ich bin|wir sind|je suis|"
    rf"nous sommes|sou)\b(?P<between>(?:\W+[\w'-]+){{0,5}}?)\W+{_MEMBER}\b"
    r"|\b(my|our|mi|mein|meine|meiner|mon|notre|meu|minha|nosso)\W+(member|membership|mitglieds|"
    r"numero de socio|numero de miembro|numero de membre|numero d'adherent|numero de socio|"
    r"numero de membro)"
)
# A clause about being a member ("says they are a Gold Club member or gives a member number"),
# not one that only names who the customer is ("a member says they got hurt in the gym").
_MEMBERSHIP_TOLD = re.compile(
    r"\b(are|is|am|being|be|sind|ist|bin|sei|sean|sea|es|son|soy|est|sont|suis|etre|e|sao|seja|"
    rf"sou)\b(?:\W+[\w'-]+){{0,4}}?\W+{_MEMBER}"
    rf"|{_MEMBER}\w*\W+(number|nummer|numero|card|karte|carte|tarjeta|cartao|id)\b"
    rf"|\b(number|numero|nummer) (de |d')?{_MEMBER}"
)
_NOT_CLAIMED = re.compile(
    r"\b(not|no|never|yet|become|becoming|nicht|kein|keine|noch|werden|pas|devenir|nao|ainda|"
    r"tornar|hacerme|ser)\b"
)


def _member(ctx: Context) -> float:
    """The customer says they are a member (of the loyalty scheme the clause names)."""
    for match in _MEMBER_CLAIM.finditer(ctx.reading.folded):
        if not _NOT_CLAIMED.search(match["between"] or ""):
            return STRONG
    return RULED_OUT


def _both(need: str, *also: str) -> Callable[[Context], float]:
    """A cue of ``need`` together with one of ``also``; ``need`` alone rules the clause out
    ("is the sofa wheelchair friendly?" reports no barrier, "my phone died" no death)."""

    def detect(ctx: Context) -> float:
        if not ctx.reading.has(need):
            return 0.0
        return STRONG if any(ctx.reading.has(group) for group in also) else RULED_OUT

    return detect


_DEATH_OF_KIN = _both("death_any", "kin")


def _bereavement(ctx: Context) -> float:
    if ctx.reading.has("death_person"):
        return STRONG
    return _DEATH_OF_KIN(ctx)


def _health_advice(ctx: Context) -> float:
    """A condition, allergy, pregnancy or medication named while asking about a product."""
    reading = ctx.reading
    if not (reading.has("health_trait") or reading.has("medical_state")):
        return 0.0
    asking = reading.question or "?" in reading.folded
    return STRONG if asking else RULED_OUT


# "stop my coffee subscription", "end the lease", "beende mein Abo": a verb of ending a few
# words before what recurs.
_STOP_RECURRING = re.compile(
    r"\b(stop|end|quit|close|parar|terminar|detener|finalizar|beenden|stoppen|arreter|"
    r"mettre fin a|encerrar|interromper)\b(?:\W+[\w'-]+){0,4}?\W+(subscription|membership|"
    r"plan|contract|lease|suscripcion|membresia|contrato|abo|abonnement|mitgliedschaft|vertrag|"
    r"contrat|assinatura|plano)\b"
)


_RECURRING = re.compile(
    r"\b(subscription|membership|contract|lease|rental|plan|suscripcion|membresia|contrato|"
    r"alquiler|abo|abonnement|mitgliedschaft|vertrag|contrat|location|assinatura|plano)"
)
_ORDERS = re.compile(
    r"\b(orders?|purchases?|pedidos?|compras?|bestellung\w*|commandes?|encomendas?)\b"
)
_ASIDE = re.compile(r"\([^)]*\)")


@lru_cache(maxsize=1024)
def only_recurring(folded_clause: str) -> bool:
    """The clause is about ending something recurring (a subscription, a contract), not about
    cancelling an order; an aside ("this does not cover cancelling an order") is not its topic."""
    topic = _ASIDE.sub(" ", folded_clause)
    return bool(_RECURRING.search(topic)) and not _ORDERS.search(topic)


def _cancel(ctx: Context) -> float:
    reading = ctx.reading
    if reading.has("cancel") or _STOP_RECURRING.search(reading.folded):
        # "if I add the cover today, can I cancel it later if I change my mind?" asks about
        # the policy before buying; it cancels nothing
        return ASKED if _before_it_happens(reading) else 0.8
    return 0.0


def _refund(ctx: Context) -> float:
    """A refund wanted, not one asked about before buying or in a "what if"."""
    reading = ctx.reading
    if not reading.has("refund_want"):
        return 0.0
    return ASKED if _before_it_happens(reading) else 0.8


def _sentences_with(reading: Reading, group: str) -> list[str]:
    phrases = reading.hits.get(group, ())
    return [s for s in _SENTENCE.findall(reading.folded) if any(p in s for p in phrases)]


def _damage(ctx: Context) -> float:
    """An item reported damaged; a dented box around an item the customer says is fine is
    damage to the packaging only."""
    reading = ctx.reading
    if reading.has("broken_apart"):
        return 0.8
    if not reading.has("damaged"):
        return 0.0
    packaging = reading.hits.get("packaging", ())
    box_only = reading.has("item_fine") and all(
        any(p in sentence for p in packaging) for sentence in _sentences_with(reading, "damaged")
    )
    return RULED_OUT if box_only else 0.8


def _privacy(ctx: Context) -> float:
    """A request about the customer's data (delete, copy, access) or a privacy law invoked;
    data merely mentioned ("I'd rather not leave my details everywhere") requests nothing."""
    reading = ctx.reading
    if not reading.has("privacy"):
        return 0.0
    if reading.has("privacy_act") or _PRIVACY_LAW.search(reading.folded):
        return STRONG
    return RULED_OUT


_PRIVACY_LAW = re.compile(r"\b(gdpr|ccpa|cpra|lgpd|dsgvo|rgpd|lopd|dsar|cnil|data subject)\b")


def _cue(group: str, score: float = STRONG) -> Callable[[Context], float]:
    return lambda ctx: score if ctx.reading.has(group) else 0.0


_DETECTORS: dict[str, Callable[[Context], float]] = {
    "legal": lambda ctx: ctx.legal,
    "anger": lambda ctx: ctx.anger,
    "urgent": lambda ctx: ctx.urgency,
    "repeated": _repeated,
    "human": _cue("human_request"),
    "safety": lambda ctx: _reported(ctx.reading, "safety"),
    "health": _health,
    "fraud": _fraud,
    "duplicate_charge": _cue("duplicate_charge"),
    "privacy": _privacy,
    "bulk": _cue("bulk", 0.8),
    "high_value": lambda _ctx: 0.0,
    "cancel": _cancel,
    "refund": _refund,
    "damage": _damage,
    "delivery": _cue("delivery_problem", 0.8),
    "review": _cue("threat_leave"),
    "competitor": _competitor,
    "press": _press,
    "member": _member,
    "accessibility": _both("a11y_need", "a11y_barrier"),
    "bereavement": _bereavement,
    "custom_made": _cue("custom_order", 0.8),
    "business_buyer": _cue("business_buy", 0.8),
    "health_advice": _health_advice,
}
# The cue groups each detector reads: a message with none of them scores 0 on it. Detectors
# missing here read the judge's own estimates (anger, urgency, legal) and always run.
_READS: dict[str, tuple[str, ...]] = {
    "repeated": ("repeat", "repeat_strong"),
    "human": ("human_request",),
    "safety": ("safety",),
    "health": ("health", "health_trait"),
    "fraud": ("fraud", "purchase_denied"),
    "duplicate_charge": ("duplicate_charge",),
    "privacy": ("privacy",),
    "bulk": ("bulk",),
    "high_value": (),
    "cancel": ("cancel", "subscription_word"),
    "refund": ("refund_want",),
    "damage": ("damaged", "broken_apart"),
    "delivery": ("delivery_problem",),
    "review": ("threat_leave",),
    "competitor": ("competitor", "price"),
    "press": ("press_offer", "press_person", "press_outlet"),
    "member": ("member_word",),
    "accessibility": ("a11y_need",),
    "bereavement": ("death_person", "death_any"),
    "custom_made": ("custom_order",),
    "business_buyer": ("business_buy",),
    "health_advice": ("health_trait", "medical_state"),
}
# Concepts that qualify another ("frustrated about a late delivery"): both must hold.
_QUALIFIERS = frozenset({"anger", "urgent"})
# Concepts with their own classifiers: similarity is never asked to overrule them.
_OWN_CLASSIFIER = frozenset({"legal", "anger", "urgent", "repeated"})


@dataclass(frozen=True, slots=True)
class ClauseVerdict:
    score: float
    urgency: Urgency
    detail: str
    wants_relation: bool
    """Similarity should be consulted (an unsure detector, or a clause no detector covers)."""
    generic: bool = False
    """The clause is about no known concept: only similarity can match it."""
    outside: frozenset[str] = frozenset()
    """Concepts whose limit in this clause the message's own numbers fail ("a 5-pack" for
    "100 or more units", "312 followers" for "more than 10,000 followers")."""
    by_number: bool = False
    """Matched on evidence a sibling clause's limit measures: a creator's role (their
    audience), buying "in bulk" (how many)."""
    similar: bool = False
    """The score is the embedding model's similarity, not a detector's or a number's."""
    failed_limit: bool = False
    """The message's own number of the clause's kind fails the clause's limit ("pause for 2
    months" for "pause for more than 3 months")."""


# A clause about what the customer asks or wants to know ("asks whether it is safe during
# pregnancy") is met by a shopper's question; one about what happened is not.
_ASKS = re.compile(
    r"\b(?:ask|asks|asking|enquir\w*|inquir\w*|question\w*|wants? to know|whether|pregunt\w*|"
    r"consult\w*|fragt|frage\w*|anfrag\w*|erkundig\w*|demande\w*|pergunt\w*|quer saber|"
    r"quiere saber|informa\w*|auskunft|interest\w*|interes\w*)\b"
)
_NOT_A_REPORT = ("shopping", "hypothetical", "all_fine", "denied")
# A clause about what the customer wants or asks for ("a business wants more than 500
# posters", "quiser encerrar o plano") is met by a request, which tells of no situation: the
# report classifier does not judge those.
_WANTS = re.compile(
    r"\b(?:wants?|wanting|would like|wish\w*|request\w*|orders?|ordering|asks? for|"
    r"quier\w*|quiser\w*|pide\w*|piden|pedir|solicit\w*|quer|querem|deseja\w*|"
    r"will|wollen|mochte\w*|bestell\w*|veut|veulent|voudrai\w*|souhait\w*|commande\w*)\b"
)


REPORT_FLOOR = 0.1
"""Below this probability that a message reports the customer's own situation (the report
classifier, ``speech_acts.jsonl``), similarity does not meet a clause about what happened.
Since the corpus holds ordinary requests and more denials, solved and other people's problems
(1,375 rows), those score near 0 and reports of one's own trouble told as a request ("water is
dripping through the ceiling, can someone come today?") about 0.2: on holdout4-11 (studied)
0.1 gave a summed F1 of 6.870 with 51 false escalations, 0.2 gave 6.817 with 49."""


def not_a_report(clause: Clause, reading: Reading, reported: float = 1.0) -> str | None:
    """Why similarity must not meet ``clause`` with this message, or None: a shopper asking
    before buying ("is it parfum-free, before I order?"), a "what if", or praise for a product
    that works ("three years without a single fault") is close in meaning to a clause about a
    reaction, a crash or a defect, and reports none; so is a denial of the very thing ("I don't
    want to cancel, only to pause"), and a problem the customer calls small ("a little twinge,
    nothing major") for a clause about a severe one ("severe pain painkillers don't control").
    ``reported``: the report classifier's probability that the message tells of the customer's
    own situation, which also reads what no cue names (someone else's problem, one already
    solved, a policy question); below ``REPORT_FLOOR`` it is no report.
    Clauses about a question are exempt."""
    found = next((group for group in _NOT_A_REPORT if reading.has(group)), None)
    if found is None and reported < REPORT_FLOOR and not _wants(clause.text):
        found = "not reported"
    if found is None and reading.has("mild") and _severe(clause.text):
        found = None if any(map(reading.has, _NOT_MILD)) else "mild"
    if found is None or _asks(clause.text):
        return None
    return found


# What makes a clause about the severe form of a problem, in five languages.
_SEVERE = re.compile(
    r"\b(?:severe\w*|serious|heavy|heavily|uncontroll\w*|won't stop|doesn't stop|does not stop|"
    r"(?:can't|cannot|can not) be stopped|actively|emergenc\w*|intense|unbearable|excruciating|"
    r"grave|graves|fuerte|fuertes|no para|sin parar|incontrol\w*|stark\w*|heftig\w*|"
    r"hort nicht auf|unkontroll\w*|notfall\w*|forte|fortes|nao para|insupportable|"
    r"ne s'arrete pas|urgence|urgencia|urgente)\b"
)
# Signs that the "small" problem is not small after all.
_NOT_MILD = ("anger", "urg_now", "urg_critical", "insult")


@lru_cache(maxsize=1024)
def _severe(clause_text: str) -> bool:
    return _SEVERE.search(fold(clause_text)) is not None


@lru_cache(maxsize=1024)
def _wants(clause_text: str) -> bool:
    return _WANTS.search(fold(clause_text)) is not None


@lru_cache(maxsize=1024)
def _asks(clause_text: str) -> bool:
    return _ASKS.search(fold(clause_text)) is not None


def _numbers(clause: Clause, ctx: Context) -> tuple[float, str] | None:
    """None when the message has no number of the clause's kind (the numbers cannot decide)."""
    found = [q for q in ctx.reading.quantities if any(limit.measures(q) for limit in clause.limits)]
    if not found:
        return None
    for quantity in found:
        if _within(quantity, clause.limits):
            return 0.9, f"{quantity.value:g} ({quantity.kind}) is within the limit"
    total = bill_total(found, ctx.reading.folded)
    if total is not None and any(limit.holds(total) for limit in clause.limits):
        return 0.9, f"the amounts add up to {total.value:g}, within the limit"
    return 0.05, "the numbers mentioned are outside the limit"


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a clause's verdicts share, worked out once per clause."""

    urgency: Urgency
    judged: tuple[str, ...]
    """The concepts whose detectors judge it (``_judged``)."""
    reads: frozenset[str] | None
    """The cue groups its detectors read; None when one reads the judge's estimates."""
    silent: ClauseVerdict
    """The verdict on a message with none of those groups and no number."""
    code: re.Pattern[str] | None = None
    """A reference the clause says how to recognise ("member numbers start with GL-")."""
    topic: frozenset[str] = frozenset()
    """The stems of what a clause's limits measure, without the comparison ("engraving",
    "characters" of "an engraving longer than 30 characters")."""


# "(these start with PC-)", "beginnen mit KD", "empiezan por VIP-": how a code looks.
_CODE_PREFIX = re.compile(
    r"\b(?:start|starts|starting|begin|begins|beginning|beginnen|beginnt|empiezan|empieza|"
    r"comienzan|commencent|commence|comecam|comeca|iniciam)\s+(?:with|by|mit|por|par|com)\s+"
    r"[\"'\u201c\u2018]?(?P<prefix>[a-z0-9]*[a-z][a-z0-9]*-?)"
)


def _code(folded_clause: str) -> re.Pattern[str] | None:
    match = _CODE_PREFIX.search(folded_clause)
    if not match:
        return None
    return re.compile(rf"(?<![\w-]){re.escape(match['prefix'])}\s?\d")


def _facts(clause: Clause) -> _Facts:
    if isinstance(clause.facts, _Facts):
        return clause.facts
    known = concepts()
    named = cue_urgency(fold(clause.text))
    urgency = max(
        (*(known[name].urgency for name in clause.concepts), *([named] if named else [])),
        key=lambda u: u.rank,
        default=Urgency.MEDIUM,
    )
    folded = fold(clause.text)
    judged = _judged(clause, folded)
    reading = Reading.silent()
    # Estimates of 0 and no legal threat: exactly what a message without cues is judged on.
    silent = _judge(clause, Context(reading, (), 0.0, 0.0, 0.0), urgency, judged)
    groups = [_READS.get(name) for name in clause.concepts]
    reads = None if None in groups else frozenset(g for found in groups if found for g in found)
    topic = content_stems(without_limits(folded)) if clause.limits else frozenset()
    clause.facts = _Facts(urgency, judged, reads, silent, _code(folded), topic)
    return clause.facts


def _judged(clause: Clause, folded_clause: str) -> tuple[str, ...]:
    """The concepts whose detectors judge ``clause``. "A member wants to cancel their
    membership", "un adhérent s'est blessé pendant un cours" name who the customer is, not what
    happened: "is the pool included in my membership?" meets nothing, and a claim to be a member
    decides nothing of an injury. Membership alone is judged where the clause is about being a
    member ("says they are a Gold Club member or gives a member number") or sets a limit."""
    named = clause.concepts
    if "member" in named and (
        len(named) > 1 or not (clause.limits or _MEMBERSHIP_TOLD.search(folded_clause))
    ):
        return tuple(name for name in named if name != "member")
    return named


def _within(quantity: Quantity, limits: Sequence[Limit]) -> bool:
    """Whether ``quantity`` meets a clause's limits. Where they bound several things, "5,000
    flyers" is held to the flyers' limit, not to "500 posters"; and "320 pictures", which names
    none of them, to all of them (it could count any): 320 is no "over 500 prints or more than
    20 photo books"."""
    nouns = {limit.noun for limit in limits if limit.noun}
    if len(nouns) < 2:
        return any(limit.holds(quantity) for limit in limits)
    named = [limit for limit in limits if limit.names(quantity)]
    if named:
        return any(limit.holds(quantity) for limit in named)
    return all(
        any(limit.holds(quantity) for limit in limits if limit.noun == noun) for noun in nouns
    )


def judge_clause(clause: Clause, ctx: Context) -> ClauseVerdict:
    """The lexical verdict on one clause; similarity may refine it later."""
    facts = _facts(clause)
    reading = ctx.reading
    code = facts.code.search(reading.folded) if facts.code is not None else None
    if code is not None and not _someone_elses(reading, code.start()):
        return ClauseVerdict(STRONG, facts.urgency, f'"{clause.text}": the code given', False)
    if (
        facts.reads is not None
        and not (clause.limits and reading.quantities)
        and facts.reads.isdisjoint(reading.hits)
    ):
        return facts.silent  # the common case: nothing in the message for this clause
    return _judge(clause, ctx, facts.urgency, facts.judged)


def _someone_elses(reading: Reading, at: int) -> bool:
    """The reference at ``at`` is given in a sentence about a relative ("my sister is in the
    club, her number is GL-4410"), where the customer does not claim it as theirs too: a
    condition about the customer themself ("says they are a member or gives a member
    number") is not about their family."""
    kin = reading.hits.get("kin", ())
    if not kin:
        return False
    for sentence in _SENTENCE.finditer(reading.folded):
        if sentence.start() <= at < sentence.end():
            text = sentence.group(0)
            return any(phrase in text for phrase in kin) and not _MEMBER_CLAIM.search(text)
    return False


def _judge(
    clause: Clause, ctx: Context, urgency: Urgency, judged: tuple[str, ...]
) -> ClauseVerdict:
    known = concepts()
    scores = {name: _DETECTORS[name](ctx) for name in judged}
    qualitative = {n: s for n, s in scores.items() if not known[n].quantity}
    numbers = _numbers(clause, ctx) if clause.limits else None
    if numbers is not None or (clause.limits and not clause.partial_limit):
        if numbers is None:
            # No number to compare: a quantity concept's own cues ("wholesale") may still hold.
            quantity_cues = [s for n, s in scores.items() if known[n].quantity]
            score = max(quantity_cues, default=0.0) if not qualitative else 0.0
            return ClauseVerdict(score, urgency, f'"{clause.text}": no number to compare', False)
        number_score, why = numbers
        if number_score >= 0.5 and not clause.concepts:
            return _topic_of_number(clause, ctx, urgency, why)
        failed = number_score < 0.5
        outside = frozenset(clause.concepts) if failed else frozenset()
        unsure = False
        if qualitative:
            number_score = min(number_score, *qualitative.values())
            # The number holds ("$540" for "a parcel worth more than $400"); whether the rest
            # is met ("reports it as lost": "marked delivered but not here") is for similarity
            # too when the cue words found nothing
            unsure = not failed and number_score < 0.5
        return ClauseVerdict(
            number_score,
            urgency,
            f'"{clause.text}": {why}',
            unsure,
            outside=outside,
            failed_limit=failed,
        )
    if not judged:
        # No concept to judge: a clause without a single content word ("100", "Escalate")
        # says nothing to compare, and one about what happened to "a member" is for similarity.
        return ClauseVerdict(0.0, urgency, f'"{clause.text}"', bool(clause.stems), generic=True)
    if scores.get("repeated"):
        needed = contacts_needed(fold(clause.text))
        told = contacts_told(ctx.reading.folded) if needed else None
        if needed and told is not None and told < needed:
            scores["repeated"] = qualitative["repeated"] = 0.05  # "second time" is not 3+
    reading = ctx.reading
    if (
        scores.get("cancel")
        and reading.has("order_word")
        and not reading.has("subscription_word")
        and only_recurring(fold(clause.text))
    ):
        scores["cancel"] = qualitative["cancel"] = RULED_OUT  # one order, not the contract
    if len(qualitative) > 1 and _QUALIFIERS & qualitative.keys():
        score = min(qualitative.values())
    else:
        score = max(scores.values())
    # Similarity may settle an unsure detector, or a clause its cue words cover only in part
    # ("a gift card or voucher that was lost or stolen" is about more than fraud) when the
    # detector found nothing at all. It never overrules a detector that covers its clause and
    # found nothing, nor one that read its cue and ruled it out ("does it contain nuts? my son
    # has an allergy" asks, it reports no reaction): it is too loose for that.
    uncertain = (0.2 <= score < 0.7 or (score == 0.0 and clause.uncovered >= 3)) and not (
        _OWN_CLASSIFIER & set(clause.concepts)
    )
    names = "/".join(clause.concepts)
    by_number = score >= 0.5 and all(
        _measured(name, ctx.reading) for name, s in scores.items() if s >= 0.5
    )
    return ClauseVerdict(
        score, urgency, f'"{clause.text}" ({names})', uncertain, by_number=by_number
    )


def _topic_of_number(clause: Clause, ctx: Context, urgency: Urgency, why: str) -> ClauseVerdict:
    """A number within the limit of a clause no concept covers says how much, not of what:
    "40 guests" is more than 30 but not "an engraving longer than 30 characters", and "I paid
    2.000 € for a sofa that broke" is no "cart over 1.500 €" by its amount alone. A word of
    what the clause counts in the message ("engraving", "cart") confirms the topic; without
    one, the clause stays unsure and similarity must confirm it (it can raise the score, and
    the number has already ruled out what similarity cannot check)."""
    if _facts(clause).topic & ctx.reading.content:
        return ClauseVerdict(0.9, urgency, f'"{clause.text}": {why}', False, generic=True)
    return ClauseVerdict(UNSURE, urgency, f'"{clause.text}": {why}', True, generic=True)


# Buying "in bulk" says how many, which a number can contradict; "wholesale" or "reseller"
# says who buys, which it cannot.
_VOLUME = frozenset(
    fold(p)
    for p in (
        "in bulk", "bulk order", "bulk orders", "bulk pricing", "bulk discount", "large order",
        "large quantity", "large quantities", "volume discount", "volume pricing", "pedido grande",
        "gran cantidad", "großbestellung", "mengenrabatt", "großen mengen", "grosse commande",
        "grande quantité", "grande quantidade",
    )
)  # fmt: skip


def _measured(name: str, reading: Reading) -> bool:
    if name == "bulk":
        return set(reading.hits.get("bulk", ())) <= _VOLUME
    return name == "press"


def combine(plan: ConditionPlan, verdicts: list[ClauseVerdict], ctx: Context) -> ConditionMatch:
    """One condition's verdict: its best clause, at the most urgent matched clause's urgency."""
    if all(v is _facts(c).silent for v, c in zip(verdicts, plan.clauses, strict=True)):
        # Nothing in the message for any clause (most messages): the same verdict every time.
        if plan.silent_match is None:
            plan.silent_match = _combine(plan, verdicts, ctx)
        return plan.silent_match
    return _combine(plan, verdicts, ctx)


def may_be_about(exclusion: Exclusion, reading: Reading) -> bool:
    """Whether a message can be what ``exclusion`` describes at all: an exclusion of a
    question ("it does not count if they only ask when the plan renews") leaves out messages
    that ask, never one that reports ("two charges on my statement") however close in words."""
    return not _asks(exclusion.clause.text) or reading.question or "?" in reading.folded


def about_exclusion(plan: ConditionPlan, ctx: Context) -> Exclusion | None:
    """The exclusion a message is about, by its words: a number within the exclusion's limit
    ("except orders under $20"), a concept the rest of the condition lacks, or a word only the
    exclusion has ("pausing" beside "cancel a subscription")."""
    reading = ctx.reading
    for exclusion in plan.exclusions:
        if not may_be_about(exclusion, reading):
            continue
        limits = exclusion.clause.limits
        if limits:
            if any(limit.holds(q) for limit in limits for q in reading.quantities):
                return exclusion
            continue  # its words describe what the number measures
        if any(_DETECTORS[name](ctx) >= 0.5 for name in exclusion.concepts):
            return exclusion
        if exclusion.keys and keys_meet(exclusion.keys, word_keys(affirmed(reading.folded))):
            return exclusion
    return None


# The pieces of a message between punctuation.
_PIECES = re.compile(r"[^.,;:!?]+")


def affirmed(folded: str) -> str:
    """``folded`` without the pieces (between punctuation) that deny what they name: the
    words of an exclusion a message denies ("Trash is empty" for "items in the trash do not
    count") do not make it about the exclusion."""
    if not NEGATION.search(folded):
        return folded
    return " ".join(piece for piece in _PIECES.findall(folded) if not NEGATION.search(piece))


def excluded(
    plan: ConditionPlan, verdicts: list[ClauseVerdict], exclusion: Exclusion
) -> list[ClauseVerdict]:
    """The verdicts once the message is known to be about ``exclusion``: none holds, unless a
    detector read a certain cue of the clause that the exclusion does not share ("cancel my
    subscription, don't just pause it" still cancels) and the exclusion sets no limit.
    Similarity and a clause no concept covers cannot tell the exclusion from the condition:
    that is why merchants write them."""
    shared = set(exclusion.clause.concepts)
    # An exclusion with a limit narrows the clause's own topic ("refunds, except under $20"):
    # no cue of that topic overrides it.
    certain = not exclusion.clause.limits and any(
        v.score >= 0.7 and not v.similar and not v.generic and set(clause.concepts) - shared
        for v, clause in zip(verdicts, plan.clauses, strict=True)
    )
    if certain:
        return verdicts
    why = f' but about "{exclusion.clause.text}", which does not count'
    return [
        replace(v, score=RULED_OUT, detail=v.detail + why) if v.score >= 0.5 else v
        for v in verdicts
    ]


@lru_cache(maxsize=1024)
def label_urgency(label: str) -> Urgency | None:
    """The urgency of the concept a condition's label names ("Electrical hazard", "Account
    takeover", "Vorzeitige Kündigung"): the merchant's own summary of what the condition is
    about says how urgent its match is, even where the description words it by examples."""
    return cue_urgency(fold(label))


def _combine(plan: ConditionPlan, verdicts: list[ClauseVerdict], ctx: Context) -> ConditionMatch:
    if plan.exclusions and any(v.score >= 0.5 for v in verdicts):
        exclusion = about_exclusion(plan, ctx)
        if exclusion is not None:
            verdicts = excluded(plan, verdicts, exclusion)
    outside = frozenset().union(*(v.outside for v in verdicts))
    if outside:
        # The message's own numbers fail the condition's limit on a concept: a clause that
        # matched the same concept on evidence that limit measures does not hold either.
        verdicts = [
            replace(v, score=RULED_OUT, by_number=False)
            if v.by_number and outside & set(clause.concepts)
            else v
            for v, clause in zip(verdicts, plan.clauses, strict=True)
        ]
    best = max(verdicts, key=lambda v: v.score)
    matched = [v for v in verdicts if v.score >= 0.5]
    urgency = max((v.urgency for v in matched), key=lambda u: u.rank, default=best.urgency)
    if matched and all(v.generic for v in matched) and ctx.urgency >= 0.5:
        urgency = Urgency.HIGH  # an unknown concept, matched with an urgent need
    named = label_urgency(plan.condition.label)
    if matched and named is not None and named.rank > urgency.rank:
        urgency = named
    detail = ("matched " if best.score >= 0.5 else "closest: ") + best.detail
    return ConditionMatch(
        label=plan.condition.label, score=round(best.score, 3), detail=detail, urgency=urgency
    )
