"""Merchant-written trigger conditions: split into clauses, mapped to known concepts, judged.

"Escalate when user expresses anger, repeated complaint, or asks immediate human intervention"
becomes three clauses; each is about a concept the judge has a detector for (anger, repeated
complaint, human request), or about numbers ("more than 100 units"), or about something else,
which the embedding model judges by similarity, calibrated against calm messages.
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from detector.language import ConditionMatch
from detector.language.lexical import Reading
from detector.language.lexicon import fold
from detector.language.model import Calibration, Embedder, Vector
from detector.language.numbers import Kind, Limit, limits
from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    urgency: Urgency
    quantity: bool
    """Numbers are the concept ("more than 100 units"): a limit alone decides."""
    cues: tuple[str, ...]


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
        assert isinstance(cues, list)  # noqa: S101
        found[name] = Concept(
            name=name,
            urgency=Urgency(str(entry["urgency"])),
            quantity=bool(entry.get("quantity", False)),
            cues=tuple(fold(str(cue)) for cue in cues),
        )
    return found


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
class ConditionPlan:
    condition: TriggerCondition
    clauses: tuple[Clause, ...]
    whole: Clause
    """The whole description, which similarity also reads (it carries context clauses lose)."""
    silent_match: ConditionMatch | None = None
    """The verdict on a message that none of the clauses' cues appear in (``matching``)."""


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
_SPLIT = re.compile(r"\s*(?:(?<!\d),|,(?!\d)|;|\band/or\b|\bas well as\b)\s*")
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


def _words(text: str) -> list[str]:
    return text.casefold().split()


def _attached(fragments: list[str]) -> list[str]:
    """Comma fragments joined back where the comma set off a parenthetical, not a clause: a
    bare verb ("asks,") belongs with what follows, a prepositional phrase ("in any wording")
    with what precedes."""
    joined: list[str] = []
    carry = ""
    for fragment in fragments:
        text = f"{carry} {fragment}".strip() if carry else fragment
        carry = ""
        words = _words(text)
        if words and all(word in _VERBISH for word in words):
            carry = text  # "asks" alone asks nothing yet
            continue
        if joined and words and words[0] in _PREPOSITIONS:
            joined[-1] = f"{joined[-1]} {text}"
            continue
        joined.append(text)
    if carry:
        joined.append(carry)
    return joined


def _clauses(description: str) -> list[str]:
    """Split a condition into clauses, keeping "an order or cart worth..." together."""
    parts: list[str] = []
    fragments = [
        _LEAD.sub("", raw, count=1) for raw in _SPLIT.split(description.strip().rstrip("."))
    ]
    for raw in _attached(fragments):
        pieces = _OR.split(raw)
        current = pieces[0]
        for nxt in pieces[1:]:
            first = nxt.split(" ", 1)[0].casefold()
            before = _words(current)[-1:]
            # "after using or eating": two gerunds joined inside one phrase, not two clauses.
            gerunds = first.endswith("ing") and bool(before) and before[0].endswith("ing")
            if (first in _VERBISH or first.endswith("ing")) and not gerunds:
                parts.append(current)
                current = nxt
            else:
                current = f"{current} or {nxt}"
        parts.append(current)
    return [part.strip() for part in parts if len(part.strip()) > 2] or [description]


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
    return Clause(
        text=text,
        concepts=found,
        limits=tuple(limits(folded)),
        stems=content_stems(folded),
        uncovered=len(content_stems(rest)),
    )


@lru_cache(maxsize=2048)
def plan(condition: TriggerCondition) -> ConditionPlan:
    """The clauses of ``condition`` (cached per condition text: merchants reuse them)."""
    clauses = tuple(_clause(text) for text in _clauses(condition.description))
    return ConditionPlan(condition=condition, clauses=clauses, whole=_clause(condition.description))


def embed_clauses(
    condition_plan: ConditionPlan, embedder: Embedder, calibration: Calibration
) -> None:
    """Embed the clauses and the whole description once (blocking: call it from a worker
    thread), and measure them against the calm-message bank."""
    todo = [
        clause
        for clause in (*condition_plan.clauses, condition_plan.whole)
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


def kinds(clause: Clause) -> frozenset[Kind]:
    return frozenset(limit.kind for limit in clause.limits)
