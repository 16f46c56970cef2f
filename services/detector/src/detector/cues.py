"""Cheap multilingual cues the rule triggers need: what a keyword is about, and whether an AI
message asks the customer to clarify."""

import re

from escalator_schemas.classification import Category

# What an escalation keyword says about the kind of escalation, by stem, in the five
# supported languages. The first row whose stem occurs in the keyword wins.
_KEYWORD_CATEGORIES: tuple[tuple[Category, tuple[str, ...]], ...] = (
    (
        Category.LEGAL,
        (
            "lawyer",
            "legal",
            "attorney",
            "sue",
            "court",
            "abogad",
            "anwalt",
            "avocat",
            "advogad",
            "tribunal",
            "gericht",
            "juríd",
            "jurid",
        ),
    ),
    (
        Category.CANCELLATION,
        (
            "cancel",
            "unsubscribe",
            "close my account",
            "cancelar",
            "kündig",
            "annuler",
            "résili",
            "resili",
        ),
    ),
    (
        Category.REFUND,
        (
            "refund",
            "money back",
            "reembols",
            "rembours",
            "erstatt",
            "devolución",
            "devolução",
            "chargeback",
        ),
    ),
    (
        Category.COMPLAINT,
        ("complaint", "complain", "report", "bbb", "reclama", "réclamation", "beschwerde", "queja"),
    ),
)


def keyword_category(keyword: str) -> Category:
    """The escalation category a keyword stands for; asking for a person by default."""
    folded = keyword.casefold()
    for category, stems in _KEYWORD_CATEGORIES:
        if any(stem in folded for stem in stems):
            return category
    return Category.HUMAN_REQUEST


_CLARIFICATION = re.compile(
    "|".join(
        (
            # en
            r"\b(could|can|would) you (please )?(clarify|rephrase|explain what you mean|"
            r"say that (again|differently)|be more specific|provide more details)",
            r"\bplease (clarify|rephrase|be more specific)",
            r"\bi('m| am) (not sure|unsure) (what|which) you mean",
            r"\bi (did not|didn't|do not|don't) (quite )?(understand|follow|get) "
            r"(your|what you|that)",
            r"\bsorry, i (didn't|did not|don't|do not) (understand|follow)",
            r"\bwhat do you mean( by)?\b",
            # es
            r"\b(podrías|podria|puede|puedes|podría) "
            r"(aclarar|reformular|explicar(me)? (mejor|qué))",
            r"\bno (he )?entend(í|i|o) (bien|tu|su|lo que)",
            # de
            r"\b(könnten|können) sie (das )?(präzisieren|genauer|umformulieren|erklären, was)",
            r"\bich (habe|hab) (sie|dich|das) nicht (ganz )?verstanden",
            r"\bwas meinen sie( damit)?\b",
            # fr
            r"\b(pourriez|pouvez)[- ]vous (préciser|reformuler|clarifier)",
            r"\bje (ne suis pas sûr de|n'ai pas) (comprendre|compris)",
            r"\bque voulez[- ]vous dire\b",
            # pt
            r"\b(poderia|pode|podes) (esclarecer|reformular|explicar melhor|especificar)",
            r"\bnão (entendi|compreendi)\b",
            r"\bo que (você )?quer dizer\b",
        )
    ),
    re.IGNORECASE,
)


# A word every pattern above contains: most AI messages have none, and this literal search
# costs a tenth of the patterns'.
_CLARIFICATION_WORDS = re.compile(
    "clarif|rephras|mean|say that|specific|detail|understand|follow|get your|get what|get that"
    "|aclar|reformul|explic|entend|präzis|genauer|umformul|erklär|verstanden|meinen|précis"
    "|compr|dire|dizer"
)


def asks_for_clarification(ai_text: str) -> bool:
    """Whether an AI message asks the customer to rephrase or clarify what they said."""
    if _CLARIFICATION_WORDS.search(ai_text.lower()) is None:
        return False
    return _CLARIFICATION.search(ai_text) is not None
