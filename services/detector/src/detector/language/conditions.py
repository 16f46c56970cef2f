"""Merchant-written trigger conditions: split into clauses, mapped to known concepts, judged.

"Escalate when user expresses anger, repeated complaint, or asks immediate human intervention"
becomes three clauses; each is about a concept the judge has a detector for (anger, repeated
complaint, human request), or about numbers ("more than 100 units"), or about something else,
which the embedding model judges by similarity, calibrated against calm messages.
"""

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from detector.language import ConditionMatch
from detector.language.lexical import Reading
from detector.language.lexicon import fold
from detector.language.model import Calibration, Embedder, Vector
from detector.language.numbers import Limit, limit_end, limits, without_limits
from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    urgency: Urgency
    quantity: bool
    """Numbers are the concept ("more than 100 units"): a limit alone decides."""
    cues: tuple[str, ...]
    urgency_cues: tuple[str, ...] = ()
    """Words that give a clause this concept's urgency, not the concept (other languages)."""


_NOT_CONCEPTS = frozenset(("neutral", "bystanders"))


@cache
def concepts() -> dict[str, Concept]:
    """The concepts of ``data/concepts.toml``, in file order."""
    text = resources.files("detector.language").joinpath("data", "concepts.toml").read_text()
    table: Mapping[str, Mapping[str, object]] = tomllib.loads(text)
    found = {}
    for name, entry in table.items():
        if name in _NOT_CONCEPTS:
            continue
        cues = entry.get("clause_cues", [])
        urgent_cues = entry.get("urgency_cues", [])
        assert isinstance(cues, list)  # noqa: S101
        assert isinstance(urgent_cues, list)  # noqa: S101
        found[name] = Concept(
            name=name,
            urgency=Urgency(str(entry["urgency"])),
            quantity=bool(entry.get("quantity", False)),
            cues=tuple(fold(str(cue)) for cue in cues),
            urgency_cues=tuple(fold(str(cue)) for cue in urgent_cues),
        )
    return found


def _cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    """One pattern for ``cues`` (whole words; a trailing ``*`` matches any ending)."""
    parts = [
        re.escape(cue[:-1]) if cue.endswith("*") else rf"{re.escape(cue)}{_SUFFIXES}(?!\w)"
        for cue in cues
    ]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})") if parts else None


@cache
def _urgency_patterns() -> tuple[tuple[Urgency, re.Pattern[str]], ...]:
    found = []
    for concept in concepts().values():
        pattern = _cue_pattern((*concept.cues, *concept.urgency_cues))
        if pattern is not None and concept.urgency_cues:
            found.append((concept.urgency, pattern))
    return tuple(found)


def cue_urgency(folded_clause: str) -> Urgency | None:
    """The highest urgency of a concept whose words (in any of the five languages) a clause
    names, whether or not the clause is about that concept for matching: "die Löschung seines
    Kontos" asks for what a privacy request is, as urgent as one."""
    urgencies = [u for u, pattern in _urgency_patterns() if pattern.search(folded_clause)]
    return max(urgencies, key=lambda u: u.rank, default=None)


@cache
def _bystander_cues() -> tuple[str, ...]:
    """Phrases about people other than the customer and the shop ("someone else"): a concept
    cue inside one does not count (``[bystanders]`` in ``data/concepts.toml``)."""
    text = resources.files("detector.language").joinpath("data", "concepts.toml").read_text()
    return tuple(fold(str(cue)) for cue in tomllib.loads(text)["bystanders"]["phrases"])


@cache
def neutral_prototypes() -> tuple[str, ...]:
    """What ordinary customer messages are about (``[neutral]`` in ``data/concepts.toml``)."""
    text = resources.files("detector.language").joinpath("data", "concepts.toml").read_text()
    prototypes = tomllib.loads(text)["neutral"]["prototypes"]
    return tuple(str(p) for p in prototypes)


@dataclass(slots=True)
class Clause:
    """One thing a condition asks about."""

    text: str
    concepts: tuple[str, ...]
    limits: tuple[Limit, ...]
    stems: frozenset[str]
    uncovered: int = 0
    """Content words no concept cue covers: "gift card or voucher that was lost or stolen" is
    about more than fraud ("stolen"), so finding no fraud cannot rule it out."""
    partial_limit: bool = False
    """Its limits bound one item of a list ("a framework contract or a volume discount from 50
    units"): a message with no number of their kind may still meet another item."""
    embedding: Vector | None = None
    calm_mean: float = 0.0
    calm_std: float = 1.0
    facts: object = None
    """What ``matching`` derives once from the clause (its urgency, the cue groups it reads,
    its verdict on a message with none of them), kept here since plans are cached."""

    @property
    def generic(self) -> bool:
        return not self.concepts and not self.limits


@dataclass(slots=True)
class Exclusion:
    """What a condition says does not count ("pausing a delivery does not count")."""

    clause: Clause
    keys: frozenset[str]
    """Word keys (``word_keys``) of the exclusion that the rest of the condition lacks."""
    concepts: tuple[str, ...]
    """Its concepts that the rest of the condition lacks."""


@dataclass(slots=True)
class ConditionPlan:
    condition: TriggerCondition
    clauses: tuple[Clause, ...]
    whole: Clause
    """The whole description, which similarity also reads (it carries context clauses lose)."""
    silent_match: ConditionMatch | None = None
    """The verdict on a message that none of the clauses' cues appear in (``matching``)."""
    exclusions: tuple[Exclusion, ...] = ()
    """What the description excludes; its words are in neither the clauses nor ``whole``."""


# "Escalate when the customer ...", in the five languages: what every condition starts with.
_LEAD = re.compile(
    r"^\s*(?:(?:or|and|y|o|ou|oder|und|et|e)\s+)?(?:please\s+)?"
    r"(?:(?:escalate|flag|route|trigger|hand ?off|transfer|eskalieren|weiterleiten|escalar|"
    r"escalonar|transferir|escalader|transferer)\b\s*)?"
    r"(?:(?:this|it|the conversation|the chat)\b\s*)?"
    r"(?:(?:when|whenever|if|once|where|wenn|falls|sobald|cuando|si|quand|lorsque|quando|se|"
    r"caso)\b\s*)?"
    r"(?:(?:the|a|an|der|die|ein|eine|el|la|un|una|le|l'|une|o|um|uma)\b\s*)?"
    r"(?:(?:customer|user|client|shopper|buyer|visitor|someone|somebody|person|they|kunde|"
    r"kundin|nutzer|cliente|usuario|utilisateur|utilizador)(?:'s)?\b\s*)?",
    re.IGNORECASE,
)
_SUFFIXES = r"(?:s|es|ed|d|ing|ous|er|ers|ies)?"
_OR = re.compile(r"\s+or\s+")
_VERBISH = frozenset(
    (
        "about", "asks", "ask", "mentions", "mention", "says", "say", "wants", "want", "requests",
        "request", "reports", "report", "threatens", "threaten", "invokes", "invoke", "demands",
        "demand", "uses", "use", "is", "are", "has", "have", "needs", "need", "complains",
        "complain", "expresses", "express", "writes", "write", "tells", "tell", "describes",
        "describe", "seems", "appears", "when", "if", "whenever", "any"
    )
)  # fmt: skip
_CONTENT = re.compile(r"[^\W\d_]{4,}")
# Words every condition uses: sharing them says nothing about relevance.
_CLAUSE_STOP = frozenset(
    (
        "escalate", "when", "customer", "user", "their", "they", "them", "that", "this", "with",
        "about", "from", "into", "more", "than", "asks", "mentions", "wants", "says", "reports",
        "other", "such", "example", "whether", "something", "someone", "anything", "product",
        "products", "order", "orders", "item", "items", "store", "shop", "company", "using",
        "after", "before", "their", "request", "requests", "need", "needs",
        # the same kind of words in German, Spanish, French and Portuguese conditions
        "kunde", "kundin", "kunden", "mochte", "mochten", "will", "einen", "einem", "einer",
        "eines", "nicht", "oder", "wenn", "dass", "sich", "ihre", "ihren", "ihrem", "seine",
        "seinen", "uber", "nach", "beim", "wird", "sind", "bestellung", "cliente", "clientes",
        "quiere", "desea", "pide", "cuando", "para", "sobre", "algun", "alguna", "esta", "este",
        "nuestro", "nuestra", "tienda", "pedido", "client", "veut", "souhaite", "demande",
        "lorsque", "quand", "pour", "avec", "leur", "leurs", "notre", "boutique", "commande",
        "quer", "deseja", "pede", "quando", "algum", "nosso", "nossa", "loja", "encomenda"
    )
)  # fmt: skip


# A comma before one of these opens a phrase that qualifies the clause before it ("asks, in
# any wording, for a person"), not a clause of its own.
_PREPOSITIONS = frozenset(
    (
        "in", "for", "with", "without", "by", "at", "on", "from", "after", "before", "during",
        "within", "via", "through", "about", "regarding", "to", "of",
    )
)  # fmt: skip
# The same in Spanish, Portuguese, French and German, only where a description's first phrase
# opens with one ("Escalar cuando el cliente, por una discapacidad, no puede ..."): later, a
# German clause ends in its verb (", mit einem Anwalt droht"), no qualifier of what precedes.
_OPENING_PREPOSITIONS = _PREPOSITIONS | frozenset(
    (
        "por", "con", "sin", "durante", "tras", "mediante", "com", "sem", "após", "avec", "sans",
        "par", "pour", "pendant", "après", "mit", "ohne", "für", "bei", "wegen", "während",
    )
)  # fmt: skip
# Words that open a clause of its own in a list ("..., o pide hablar con su banco"): a verb
# of what the customer does, or a negation. English verbs are in ``_VERBISH``.
_CLAUSE_OPENERS = frozenset(
    (
        "cannot", "can't", "does", "did", "wishes", "tries", "claims", "plans", "threatened",
        "pide", "pregunta", "quiere", "desea", "dice", "amenaza", "informa", "reporta", "sospecha",
        "solicita", "necesita", "menciona", "exige", "pede", "pergunta", "quer", "deseja", "diz",
        "relata", "ameaça", "demande", "veut", "souhaite", "dit", "menace", "signale", "fragt",
        "möchte", "sagt", "droht", "meldet", "verlangt", "bittet", "no", "não", "ne", "n'",
        "nicht",
    )
)  # fmt: skip
# "or any other health problem" closes a list with one more item, it opens no clause.
_DETERMINERS = frozenset(("any",))
# A German clause after a comma ends in its verb: "..., mit einem Anwalt droht".
_GERMAN_VERBS = frozenset(
    ("fragt", "möchte", "will", "sagt", "droht", "meldet", "verlangt", "bittet", "fordert")
)
# A subordinate clause after a comma belongs to the verb before it ("meldet, dass ...").
_SUBORDINATE = frozenset(("that", "dass", "que", "qu'"))
# A relative clause after a comma qualifies what precedes it ("a course, which they finished",
# "Fotos drucken möchte, die er nicht selbst gemacht hat"): it is no alternative of its own.
_RELATIVES = frozenset(
    (
        "which", "who", "whom", "whose", "qui", "dont", "lequel", "laquelle", "lesquels",
        "lesquelles", "quien", "quienes", "cuyo", "cuya", "cuyos", "cuyas", "quem", "cujo",
        "cuja", "cujos", "cujas", "welche", "welcher", "welches", "welchen", "deren", "dessen",
    )
)  # fmt: skip
# German relative pronouns are its articles too: after a comma, one opens a relative clause
# when no noun follows it (capitalised: "die Lieferung", "die kaputte Verpackung" are things
# named, "die er nicht gemacht hat" qualifies the thing before it) and the fragment ends in
# its verb.
_GERMAN_RELATIVES = frozenset(("der", "die", "das", "den", "dem"))
# "or", "and" in the five languages: what closes a list ("a rash, swelling or another problem").
_CONJUNCTIONS = frozenset(("or", "and", "y", "o", "e", "ou", "oder", "und", "et"))
_CONJUNCTION = re.compile(r"^\s*(?:or|and|y|o|e|ou|oder|und|et)\s+", re.IGNORECASE)
# What follows a verb, not a noun ("disputes the payment", "abrir una disputa", "signale une
# brûlure"); not "o", "e" or "as" (also "or", "and", "as").
_ARTICLES = frozenset(
    (
        "a", "an", "the", "their", "our", "us", "them", "it", "el", "la", "los", "las", "un",
        "una", "unos", "su", "sus", "le", "les", "une", "des", "son", "sa", "ses", "der", "die",
        "das", "den", "dem", "ein", "eine", "einen", "sein", "seine", "ihr", "ihre", "os", "um",
        "uma", "seu", "sua",
    )
)  # fmt: skip
# What introduces examples of what precedes ("like a salon, clinic or trainer"), not a verb.
_EXAMPLES = frozenset(
    ("like", "such", "including", "e.g.", "como", "incluyendo", "incluindo", "comme", "wie",
     "etwa", "z.")
)  # fmt: skip
# An item of an enumeration inside one clause names one thing: a few words, no more.
_ITEM_WORDS = 6


def _words(text: str) -> list[str]:
    return text.casefold().split()


@dataclass(slots=True)
class _Fragment:
    """A piece of a description between commas (outside parentheses)."""

    raw: str
    """As written, "or" included: what a clause keeps when items join it."""
    text: str
    """Without the lead ("Escalate when the customer", a first "or")."""
    alternative: bool
    """It opens with "or"/"and": the last item of a list ("..., or asks for a human")."""


def _fragments(description: str) -> list[_Fragment]:
    """The description cut at commas and semicolons, but not inside parentheses: "(e.g.
    blindness, low vision)" lists examples of what precedes it, not alternatives."""
    pieces, depth, start = [], 0, 0
    text = description.strip().rstrip(".")
    for at, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and char in ",;" and not (char == "," and _digit_comma(text, at)):
            pieces.append(text[start:at])
            start = at + 1
        depth = max(depth, 0)
    pieces.append(text[start:])
    raws = [
        raw
        for piece in pieces
        for raw in re.split(r"\s*(?:\band/or\b|\bas well as\b)\s*", piece.strip())
    ]
    return [
        _Fragment(raw, _LEAD.sub("", raw, count=1).strip(), bool(_CONJUNCTION.match(raw)))
        for raw in raws
    ]


def _digit_comma(text: str, at: int) -> bool:
    """A comma inside a number ("$5,000")."""
    return 0 < at < len(text) - 1 and text[at - 1].isdigit() and text[at + 1].isdigit()


def _attached(fragments: list[_Fragment]) -> list[_Fragment]:
    """Comma fragments joined back where the comma set off a parenthetical, not a clause: a
    bare verb ("asks,") belongs with what follows, a prepositional phrase ("in any wording")
    with what precedes (or with what follows, at the start), a subordinate clause ("meldet,
    dass ...") with its verb."""
    joined: list[_Fragment] = []
    carry: _Fragment | None = None
    separator = " "
    for written in fragments:
        carried = carry is not None
        fragment = written
        if carry is not None:
            if _words(written.text)[:1] and _words(written.text)[0] in _SUBORDINATE:
                separator = ", "  # "meldet, dass ..."
            text = f"{carry.text}{separator}{written.text}".strip()
            fragment = _Fragment(f"{carry.raw}{separator}{written.raw}", text, carry.alternative)
            carry = None
        words = _words(fragment.text)
        if not words:
            continue  # only the lead: "Escalar cuando el cliente, por ..."
        if all(word in _VERBISH or word in _CLAUSE_OPENERS for word in words):
            carry, separator = fragment, " "  # "asks" alone asks nothing yet
            continue
        opening = not joined and not carried and words[0] in _OPENING_PREPOSITIONS
        if opening and not fragment.alternative:
            carry, separator = fragment, ", "  # "por una discapacidad, no puede ..."
            continue
        # "meldet, dass ...", "Fotos, die er ...": attached with their comma
        qualifies = words[0] in _SUBORDINATE or _relative(fragment.raw)
        if joined and not fragment.alternative and (qualifies or words[0] in _PREPOSITIONS):
            last = joined[-1]
            comma = "," if qualifies else ""
            joined[-1] = _Fragment(
                f"{last.raw}{comma} {fragment.raw}",
                f"{last.text}{comma} {fragment.text}",
                last.alternative,
            )
            continue
        joined.append(fragment)
    if carry is not None:
        joined.append(carry)
    return joined


def _relative(text: str) -> bool:
    """Whether ``text`` is a relative clause (see ``_RELATIVES``)."""
    written = _ASIDES.sub("", text).split()
    if not written:
        return False
    first = written[0].casefold()
    if first in _RELATIVES:
        return True
    return (
        first in _GERMAN_RELATIVES
        and len(written) > 2
        and all(word.islower() for word in (*written[1:3], written[-1]))
    )


def _opens(text: str) -> bool:
    """Whether ``text`` starts a clause of its own: with a verb, a negation, "that"."""
    written = _CONJUNCTION.sub("", text, count=1).split()
    if not written:
        return False
    first = written[0].casefold()
    return (
        (first in _VERBISH and first not in _DETERMINERS)
        or first in _CLAUSE_OPENERS
        or first in _SUBORDINATE
        or _verb_form(written)
    )


def _verb_form(written: list[str]) -> bool:
    """ "reporting the store", "changed their login details", "disputes the payment", "abrir
    una disputa": a gerund, a verb in the past or a word before an article, with words of its
    own, is a predicate; a bare "swelling", "breastfeeding" or "cracked" in a list ("cracked,
    dented or otherwise damaged") is one more item of what precedes it."""
    if len(written) < 2 or written[0][0].isupper():  # not "Trading Standards"
        return False
    word, after = written[0].casefold(), written[1].casefold()
    if after in _CONJUNCTIONS or word in _PREPOSITIONS or word in _EXAMPLES:
        return False
    return (word.endswith(("ing", "ed")) and len(word) > 5) or after in _ARTICLES


def _closes(fragment: _Fragment) -> bool:
    """Whether a fragment ends an enumeration: "or"/"and" before an item, not before a verb
    ("swelling or another health problem", "..., or a font we do not list")."""
    if fragment.alternative:
        return not _opens(fragment.text)
    words = fragment.text.split()
    return any(
        word.casefold() in _CONJUNCTIONS and not _opens(" ".join(words[at + 1 :]))
        for at, word in enumerate(words[:-1])
        if at > 0
    )


def _item(fragment: _Fragment) -> bool:
    """Whether a fragment may be an item of an enumeration: no verb of its own (first, or
    last as in German: "..., mit einem Anwalt droht"), no limit."""
    verb_last = any(word in _GERMAN_VERBS for word in _words(fragment.text)[-1:])
    return not _opens(fragment.text) and not verb_last and not limits(fold(fragment.text))


def _enumerations(fragments: list[_Fragment]) -> list[_Fragment]:
    """Fragments joined where they enumerate the object of one clause: "reports an allergy,
    irritation, redness or another health problem after using a product" is one clause, whose
    items share its verb and its tail; "expresses anger, repeated complaint, or asks for a
    human" is three, since the list ends in a verb of its own. Items join the clause before
    them only when "or"/"and" closes the list with an item (not a verb); an "or" before
    further items ("..., or their own photo, logo or artwork") opens the last alternative,
    itself a list. A clause with a limit ("an engraving longer than 30 characters") takes no
    items: what the limit measures must stay its own."""
    groups: list[_Fragment] = []
    open_list = False  # the last group may still take items
    for at, fragment in enumerate(fragments):
        if groups and open_list and _item(fragment) and _list_ends(fragments, at):
            last = groups[-1]
            groups[-1] = _Fragment(
                f"{last.raw}, {fragment.raw}", f"{last.text}, {fragment.raw}", last.alternative
            )
            open_list = not _closes(fragment)
            continue
        groups.append(fragment)
        open_list = not limits(fold(fragment.text))
    return groups


def _list_ends(fragments: list[_Fragment], at: int) -> bool:
    """Whether the fragments from ``at`` on are items ending in one that closes the list,
    before a verb, a limit or the end of the description."""
    rest = fragments[at:]
    for offset, fragment in enumerate(rest):
        if not _item(fragment):
            return False
        if offset == 0 and fragment.alternative and len(rest) > 1:
            # "..., or their own photo, logo or artwork": the last alternative, a list itself
            return not (_item(rest[1]) and not rest[1].alternative)
        if _closes(fragment):
            return True
        if len(_words(fragment.text)) > _ITEM_WORDS:
            return False  # a clause of its own, not one more thing named
    return False


def _alternatives(fragments: list[_Fragment]) -> list[_Fragment]:
    """Fragments cut again before "or" and a verb ("feels ill or asks for a person"), the
    second piece an alternative of its own; "after using or eating" stays one phrase."""
    cut: list[_Fragment] = []
    for fragment in fragments:
        pieces = _OR.split(fragment.raw)
        current = _Fragment(pieces[0], _LEAD.sub("", pieces[0], count=1), fragment.alternative)
        for nxt in pieces[1:]:
            written = nxt.split(" ", 1)[0]
            first = written.casefold()
            before = _words(current.text)[-1:]
            # "after using or eating": two gerunds joined inside one phrase, not two clauses.
            gerunds = first.endswith("ing") and bool(before) and before[0].endswith("ing")
            gerund = first.endswith("ing") and _verb_form(nxt.split())
            if (first in _VERBISH or gerund) and not gerunds:
                cut.append(current)
                current = _Fragment(f"or {nxt}", nxt, True)
            else:
                current = _Fragment(
                    f"{current.raw} or {nxt}", f"{current.text} or {nxt}", current.alternative
                )
        cut.append(current)
    return cut


def _clauses(description: str) -> list[str]:
    """Split a condition into clauses, keeping "an order or cart worth..." together."""
    groups = _enumerations(_alternatives(_attached(_fragments(description))))
    parts = [group.text.strip() for group in groups]
    return [part for part in parts if len(part) > 2] or [description]


def _cue_concepts(folded: str) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    """Concepts whose cues occur in the clause, and where; a cue inside a longer cue's match
    does not count ("person" inside "personal data", "someone" inside "someone else"), nor one
    that matched only through an inflection where another concept's cue matched the very same
    words as written ("reviewer" is a press cue, not the review cue plus "-er")."""
    spans: list[tuple[int, int, str, bool]] = []
    for concept in concepts().values():
        for cue in concept.cues:
            if cue.endswith("*"):
                pattern = rf"(?<!\w){re.escape(cue[:-1])}"
            else:
                pattern = rf"(?<!\w){re.escape(cue)}{_SUFFIXES}(?!\w)"
            spans.extend(
                (match.start(), match.end(), concept.name, match.group(0) == cue.rstrip("*"))
                for match in re.finditer(pattern, folded)
            )
    for phrase in _bystander_cues():
        spans.extend(
            (match.start(), match.end(), "", True)
            for match in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded)
        )
    kept = [
        (start, end, name)
        for start, end, name, exact in spans
        if name
        and not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _, _ in spans)
        and (exact or not any(s == start and e == end and x for s, e, _, x in spans))
    ]
    names = {name for _, _, name in kept}
    return tuple(n for n in concepts() if n in names), [(s, e) for s, e, _ in kept]


def content_stems(folded: str) -> frozenset[str]:
    """The first six letters of the content words of ``folded`` (what relevance compares)."""
    return frozenset(w[:6] for w in _CONTENT.findall(folded) if w not in _CLAUSE_STOP)


def _clause(text: str) -> Clause:
    folded = fold(text)
    found, spans = _cue_concepts(folded)
    rest = folded
    for start, end in spans:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    found_limits = tuple(limits(folded))
    return Clause(
        text=text,
        concepts=found,
        limits=found_limits,
        stems=content_stems(folded),
        uncovered=len(content_stems(rest)),
        partial_limit=bool(found_limits) and _partial(folded, spans),
    )


_ASIDES = re.compile(r"\([^()]*\)")
_ANOTHER_ITEM = re.compile(r"\b(?:or|oder|o|ou)\b")


def _partial(folded: str, cues: list[tuple[int, int]]) -> bool:
    """Whether a clause's limit bounds one item of a list, not all of it: a list with commas
    ("a stair lift, a narrow staircase, or above the 4th floor"), another item after the
    limit ("groups from 20 tickets or an invoice to a company"), or an item before it that a
    concept's cue ends (``cues``: their spans): in "Mitglied kündigen oder die Mitgliedschaft
    länger als 4 Wochen pausieren", cancelling has no length. "A tour or a rental for more
    than 8 people (team events, clubs)" puts all its items under the limit; the examples in
    brackets are no items."""
    plain = _ASIDES.sub(lambda aside: " " * len(aside.group(0)), folded)
    if "," in without_limits(plain):
        return True
    end = limit_end(folded)
    if end is None:
        return False
    items = [m.start() for m in _ANOTHER_ITEM.finditer(plain)]
    if any(at > end for at in items):
        return True
    # the "or"s that stand before the limit's own number ("kündigen oder ... länger als 4")
    before = [at for at in items if any(c.isdigit() for c in plain[at:end])]
    return any(
        _CUE_ENDS_ITEM.fullmatch(plain, cue_end, at)
        for at in before
        for _cue_start, cue_end in cues
        if cue_end <= at
    )


# What may stand between a cue and the "or" after it: the rest of the cue's word ("kündig*"
# in "kündigen") and spaces.
_CUE_ENDS_ITEM = re.compile(r"\w*\s*")


# Exclusions merchants write into a description, in the five languages. After the excluded
# thing: "(pausing a delivery does not count)", "(pausar uma entrega não conta)", "zählt nicht".
_EXCLUDED_BEFORE = re.compile(
    r"\b(?:(?:does|do|is|are)\s*(?:not|n't)\s+(?:count|qualify|apply|included|covered|meant)"
    r"|(?:doesn't|don't|isn't|aren't)\s+(?:count|qualify|apply|included|covered|meant)"
    r"|no\s+cuentan?|no\s+(?:se\s+)?(?:aplican?|incluyen?)|no\s+est[aá]n?\s+incluid[oa]s?"
    r"|n[aã]o\s+contam?|n[aã]o\s+(?:se\s+)?(?:aplicam?|inclu(?:i|em))|n[aã]o\s+est[aã]o?\s+inclu[ií]d"
    r"|ne\s+compte(?:nt)?\s+pas|ne\s+s'applique(?:nt)?\s+pas|n'(?:est|sont)\s+pas\s+(?:inclus|couverts?)"
    r"|z[aä]hl(?:t|en)\s+nicht|gilt\s+nicht|gelten\s+nicht|(?:ist|sind)\s+nicht\s+(?:gemeint|inbegriffen))"
    # an aside after a dash may say why: "... don't count — the crew handles those"
    r"\s*(?:\s[\u2014\u2013-]\s[^\u2014\u2013]*)?$",
    re.IGNORECASE,
)
# A sentence of its own that denies what its subject is: "Normal error codes are not hazards",
# "un retraso no es una urgencia", "ein Kratzer ist kein Defekt". The sentence that states the
# condition (with its "when") is never read this way: "... when the customer is not happy".
_NOT_A_KIND = re.compile(
    r"\b(?:(?:is|are)\s+not|isn't|aren't|no\s+(?:es|son)|n[aã]o\s+(?:é|e|são|sao)"
    r"|(?:n'est|ne\s+sont)\s+pas|(?:ist|sind)(?=\s+kein))"
    r"\s+(?:(?:a|an|una?|uma?|des|une?|kein|keine|keinen)\s+)?[^\W\d_]+\s*$",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(
    r"\b(?:escalate|when|whenever|if|unless|wenn|falls|sobald|eskalieren|cuando|si|escalar|"
    r"quand|lorsque|escalader|quando|caso|escalonar)\b",
    re.IGNORECASE,
)
# Before it: "except when they only pause", "unless", "sauf", "außer", "excepto", "exceto".
_EXCLUDED_AFTER = re.compile(
    # "(It) does not count if/when ...": the marker first, what it excludes after it
    r"(?:^|\b)(?:(?:(?:this|it|that)\s+)?(?:does\s+not|doesn't|do\s+not|don't)\s+(?:count|apply)"
    r"\s+(?:if|when|where)|no\s+cuentan?\s+(?:si|cuando)|no\s+(?:aplica|vale)\s+(?:si|cuando)"
    r"|n[aã]o\s+(?:contam?|vale|se\s+aplica)\s+(?:se|quando)"
    r"|(?:(?:cela|ceci|ça)\s+)?ne\s+compte(?:nt)?\s+pas\s+(?:si|quand|lorsque|lorsqu')"
    r"|(?:(?:das|es)\s+)?(?:z[aä]hlt|gilt)\s+nicht,?\s+(?:wenn|falls|sofern)"
    r"|(?:but\s+)?except(?:\s+for|\s+when|\s+if|\s+where)?|excluding|unless|but\s+not"
    r"|not\s+including|(?:pero\s+no|mas\s+n[aã]o|mais\s+pas|(?:aber|doch)\s+nicht)"
    r"(?:\s+(?:cuando|si|quando|se|quand|wenn))?|(?:this|it|that)?\s*(?:does\s+not|doesn't)\s+(?:cover|include|apply\s+to)"
    r"|(?:pero\s+)?(?:excepto|salvo)(?:\s+(?:cuando|si|que))?|a\s+menos\s+que|sin\s+contar"
    r"|(?:esto\s+)?no\s+(?:cubre|incluye)"
    r"|(?:mas\s+)?(?:exceto|excepto|salvo)(?:\s+(?:quando|se))?|a\s+n[aã]o\s+ser\s+que|sem\s+contar"
    r"|(?:isso|isto)?\s*n[aã]o\s+(?:cobre|inclui)"
    r"|(?:mais\s+)?(?:sauf|hormis|except[ée])(?:\s+(?:si|quand|lorsque))?"
    r"|(?:à|a)\s+l'exception\s+d(?:e|u|es|')|(?:cela|ceci|ça)?\s*ne\s+couvre\s+pas"
    r"|(?:aber\s+)?(?:au(?:ß|ss)er|ausgenommen)(?:\s+(?:wenn|bei))?|es\s+sei\s+denn"
    r"|(?:das\s+)?gilt\s+nicht\s+f[üu]r)\b",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"\(([^()]*)\)")
# Sentences end at "." or ";" before a space: "1.500 €" and "e.g." go on.
_SENTENCES = re.compile(r"(?:[^.;]|[.;](?=\S))+[.;]?")
# Where the excluded thing starts, read backwards from "does not count": a comma, or "but".
_EXCLUSION_START = re.compile(r"[,:]|\b(?:but|pero|mas|mais|aber|doch|though)\b", re.IGNORECASE)


def _excluded(text: str, standalone: bool = False) -> tuple[str, str] | None:
    """(what stays, what is excluded) for a sentence or aside that excludes something.

    ``standalone``: the text is an aside or a sentence after the one that states the
    condition; its commas then list what it excludes ("Routine questions about vaccines,
    appointments or prices do not count"), only "but" or a colon sets a part of it apart."""
    before = _EXCLUDED_BEFORE.search(text.rstrip(" .;"))
    if before is None and standalone and not _CONDITIONAL.search(text):
        before = _NOT_A_KIND.search(text.rstrip(" .;"))
    if before:
        head = text[: before.start()]
        starts = [
            found
            for found in _EXCLUSION_START.finditer(head)
            if not (standalone and found.group(0) == ",")
        ]
        start = starts[-1] if starts else None
        return (head[: start.start()], head[start.end() :]) if start else ("", head)
    after = _EXCLUDED_AFTER.search(text)
    if after and text[after.end() :].strip(" .;"):
        return text[: after.start()], text[after.end() :]
    return None


def exclusions(description: str) -> tuple[str, list[str]]:
    """The description without what it excludes, and the excluded phrases: "wants to cancel
    a subscription (pausing a delivery does not count)" is about cancelling, and a message
    about pausing is about the exception, not the condition. Neither the concept cues nor
    similarity should read the excluded words as part of what the condition asks about."""
    excluded: list[str] = []

    def aside(match: re.Match[str]) -> str:
        found = _excluded(match[1], standalone=True)
        if found is None:
            return match[0]
        excluded.append(found[1])
        return " "

    text = _ASIDE.sub(aside, description)
    kept = []
    for at, sentence in enumerate(_SENTENCES.findall(text)):
        found = _excluded(sentence, standalone=at > 0)
        if found is None:
            kept.append(sentence)
            continue
        excluded.append(found[1])
        stays = found[0].rstrip(" ,;:.")
        kept.append(stays + "." if stays and sentence.rstrip().endswith(".") else stays)
    if not excluded:
        return description, []
    positive = re.sub(r"\s+", " ", " ".join(kept)).replace(" .", ".").strip()
    excluded = [part.strip(" .,;:") for part in excluded if part.strip(" .,;:")]
    return (positive or description), excluded


_SUFFIX = re.compile(r"(?:ing|ed|es|s|e|ar|er|ir|en|ung|ion|a|o|as|os)$")
# "only" narrows an exclusion, it is not what the exclusion is about; nor are articles and
# prepositions ("eine", "entre") that the condition's stop words leave in.
_NOT_KEYS = frozenset(
    ("only", "just", "merely", "simply", "solo", "solamente", "nur", "bloss", "seulement",
     "simplement", "apenas", "somente", "eine", "entre", "como", "pero", "mais", "dans", "sous",
     "auch", "also", "sein", "seine", "unos", "unas", "umas", "uns")
)  # fmt: skip


@lru_cache(maxsize=4096)
def word_keys(folded: str) -> frozenset[str]:
    """A crude stem per content word, the same for "pause", "pausing", "pausar" and "pausa"
    ("paus"), or "skip" and "skipping": what the words of an exclusion and of a message
    compare on (the six-letter stems of ``content_stems`` keep "pausin" apart from "pause")."""
    keys = set()
    for word in _CONTENT.findall(folded):
        if word in _CLAUSE_STOP or word in _NOT_KEYS:
            continue
        suffix = _SUFFIX.search(word)
        stem = word[: suffix.start()] if suffix and suffix.start() >= 4 else word
        if len(stem) > 1 and stem[-1] == stem[-2]:
            stem = stem[:-1]  # "skipp" of "skipping"
        if len(stem) >= 4:
            keys.add(stem[:5])
    return frozenset(keys)


def keys_meet(ours: frozenset[str], theirs: frozenset[str]) -> bool:
    """Whether two sets of word keys share a word: equal keys, or one the start of the other
    ("paus" of "pause" and "pausi" of "pausiert")."""
    return not ours.isdisjoint(theirs) or any(
        a.startswith(b) or b.startswith(a) for a in ours for b in theirs
    )


# Why the merchant wants the escalation, not when: "..., so a service advisor can call them",
# "in order to offer a retention discount", ", para oferecer parcelamento especial", ", damit
# ein Berater anrufen kann", ", pour proposer un paiement en plusieurs fois". It runs to the end
# of its sentence; a message is never about it. Not "so ... can't" (a consequence that is part
# of the condition: "damaged so that it can't be used"), not "so angry they will leave" (only
# "so" followed by who acts: "so our team can"), nor "para" without a comma ("una mesa para 20
# personas").
_PURPOSE = re.compile(
    r"(?:(?:,\s*|\s+)(?:so\s+(?:that\s+)?(?:a|an|the|our|one|we|they|someone|somebody|staff)"
    r"\s+(?:[\w'-]+\s+){0,3}(?:can|could|will|may)\b(?!\s*not|'t)"
    r"|in\s+order\s+(?:to|for|that)\b|with\s+the\s+aim\s+of\b)"
    r"|,\s*(?:to\s+(?:allow|let|give|offer|make\s+sure)\b|so\s+that\b"
    r"|para\s+que\b|para\s+poder\b|a\s+fin\s+de\b|con\s+el\s+fin\s+de\b|a\s+fim\s+de\b"
    r"|para\s+\w+(?:ar|er|ir|or)\b|pra\s+\w+(?:ar|er|ir|or)\b|de\s+modo\s+que\b"
    r"|afin\s+(?:de|que|qu')|pour\s+(?:que|qu')|pour\s+\w+(?:er|ir|re)\b|de\s+sorte\s+que\b"
    r"|damit\b|sodass\b|so\s+dass\b|um\s+(?:\w+\s+){0,5}(?:zu\s+\w+|\w+zu\w+en\b)))"
    r"[^.;]*",
    re.IGNORECASE,
)


def without_purpose(description: str) -> str:
    """``description`` without the merchant's reasons (``_PURPOSE``)."""
    return _PURPOSE.sub("", description).strip() or description


@lru_cache(maxsize=2048)
def plan(condition: TriggerCondition) -> ConditionPlan:
    """The clauses of ``condition`` (cached per condition text: merchants reuse them)."""
    positive, excluded = exclusions(without_purpose(condition.description))
    clauses = tuple(_clause(text) for text in _clauses(positive))
    whole = _clause(positive)
    rest_keys = word_keys(fold(positive))
    return ConditionPlan(
        condition=condition,
        clauses=clauses,
        whole=whole,
        exclusions=tuple(_exclusion(text, whole, rest_keys) for text in excluded),
    )


def _exclusion(text: str, whole: Clause, rest_keys: frozenset[str]) -> Exclusion:
    """An exclusion, keyed by what sets it apart from the rest of the condition: a cue of a
    concept the condition asks about ("cancelling" a single order, in a condition about
    terminating a contract) says nothing about which of the two a message is about."""
    clause = _clause(text)
    folded = fold(text)
    spans = [
        (match.start(), match.end())
        for name in whole.concepts
        for cue in concepts()[name].cues
        for match in re.finditer(rf"(?<!\w){re.escape(cue.rstrip('*'))}\w*", folded)
    ]
    for start, end in spans:
        folded = folded[:start] + " " * (end - start) + folded[end:]
    return Exclusion(
        clause=clause,
        keys=word_keys(folded) - rest_keys,
        concepts=tuple(name for name in clause.concepts if name not in whole.concepts),
    )


def embed_clauses(
    condition_plan: ConditionPlan, embedder: Embedder, calibration: Calibration
) -> None:
    """Embed the clauses and the whole description once (blocking: call it from a worker
    thread), and measure them against the calm-message bank."""
    todo = [
        clause
        for clause in (
            *condition_plan.clauses,
            condition_plan.whole,
            *(exclusion.clause for exclusion in condition_plan.exclusions),
        )
        if clause.embedding is None
    ]
    if not todo:
        return
    vectors = embedder.embed([clause.text for clause in todo])
    for clause, vector in zip(todo, vectors, strict=True):
        similarity = calibration.calm_bank @ vector
        clause.calm_mean = float(similarity.mean())
        clause.calm_std = float(similarity.std()) or 1.0
        clause.embedding = vector


RELATION_FEATURES = (
    "cos", "z_calm", "z_neutral", "margin_neutral", "whole_z_calm", "whole_z_neutral", "overlap",
    "troubled", "question",
)  # fmt: skip


def relation_features(
    condition_plan: ConditionPlan,
    clause: Clause,
    message: Vector,
    reading: Reading,
    neutral: Vector,
) -> list[float]:
    """How much a message is about a clause: more than calm messages are (clause side), and
    more than it is about ordinary customer intents (message side)."""
    whole = condition_plan.whole
    assert clause.embedding is not None  # noqa: S101 - embed_clauses ran first
    assert whole.embedding is not None  # noqa: S101
    cos = float(clause.embedding @ message)
    whole_cos = float(whole.embedding @ message)
    ordinary = neutral @ message
    spread = float(ordinary.std()) or 1.0
    overlap = len(clause.stems & reading.content) / max(1, len(clause.stems))
    troubled = any(
        reading.has(group) for group in ("anger", "insult", "issue", "damaged", "urg_now")
    )
    return [
        cos,
        (cos - clause.calm_mean) / clause.calm_std,
        (cos - float(ordinary.mean())) / spread,
        cos - float(ordinary.max()),
        (whole_cos - whole.calm_mean) / whole.calm_std,
        (whole_cos - float(ordinary.mean())) / spread,
        overlap,
        1.0 if troubled else 0.0,
        1.0 if reading.question else 0.0,
    ]


def z_calm(clause: Clause, message: Vector) -> float:
    """How much more similar ``message`` is to the clause than calm messages are (in standard
    deviations): comparable across clauses of different lengths and wordings."""
    assert clause.embedding is not None  # noqa: S101 - embed_clauses ran first
    return (float(clause.embedding @ message) - clause.calm_mean) / clause.calm_std
