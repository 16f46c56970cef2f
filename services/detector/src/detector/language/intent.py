"""Keyword intent: does the customer ask for what the keyword names, or merely mention it?

"Can a supervisor look at this?" asks for a person; "hi-vis vests with SUPERVISOR printed"
does not. Clear request frames and clear incidental frames are decided here; the rest goes to
the intent classifier (lexical features plus the message embedding).
"""

import re
from dataclasses import dataclass

from detector.language.lexical import Reading
from detector.language.lexicon import fold

_REQUEST = re.compile(
    r"(speak|talk|chat|spoken|talking|speaking)\s+(to|with)\s+(a|an|the|your|a real|someone|"
    r"some)?\s*$|\b(want|need|demand|request|requesting|get me|give me|put me through to|"
    r"transfer me to|connect me (to|with)|escalate (this|it)? ?to|like|prefer|rather( just)? "
    r"(get|have)|file|make|lodge|submit|raise|open|issue|process|get|receive|ask for|asking "
    r"for|is there|are there|can|could|may|let me|where do i send|how do i (get|make|file|"
    r"request)|quiero|quisiera|necesito|exijo|prefiero|hablar con|quero|preciso|gostaria de|"
    r"prefiro|falar com|ich mochte|ich will|ich brauche|mochte (bitte )?(mit|eine|einen)|mit|"
    r"je veux|je voudrais|je prefere|je souhaite|parler (a|avec))\W+(\w+\W+){0,3}$"
)
_INCIDENTAL = re.compile(
    r"\b(my|our|his|her|their|your)\s+(\d+\s+)?(\w+\s+)?$|\b(is|was|as|became|becoming|"
    r"officially|be)\s+an?\s+(\w+\s+)?$|\b\d+\s+(\w+\s+)?$|\bwith\s+(\w+\s+)?$|\bprinted\b"
)
_STATUS = re.compile(
    r"\b(was|were|has|have|had|did)\s+(i|it|my|the|this|that|you)\b[^.?!]{0,30}$|"
    r"\b(got|received|recibi|recebi|recu|erhalten|ya recibi|bien recu)\b[^.?!]{0,15}$"
)
_AFTER_STATUS = re.compile(
    r"^\w*\W+(\w+\W+){0,4}(arrived|received|came|processed|went through|on my statement|"
    r"caiu|angekommen|llego|arrive)"
)
_NEGATED = re.compile(
    r"\b(don't|do not|dont|not|never|no need to|no quiero|nao quero|nicht|kein|pas)\W+"
    r"(\w+\W+){0,2}$"
)
_HYPOTHETICAL_PHRASES = (
    "just curious", "not planning", "before i buy", "policy", "guarantee", "refundable",
)  # fmt: skip
_HYPOTHETICAL = re.compile(r"\b(" + "|".join(_HYPOTHETICAL_PHRASES) + r")\b")
# "do I have to talk to a human to get it replaced?": asks how things work, not for the thing.
_OBLIGED = re.compile(
    r"(?<!why )\b(do|would|will|should) (i|we) (have|need) to\s+(\w+\s+){0,2}$|"
    r"(?<!por que )\b(tengo|tendria|tenemos) que\s+(\w+\s+){0,2}$|\b(muss|musste) ich\s+"
    r"(\w+\s+){0,2}$|\b(dois-je|faut-il)\s+(\w+\s+){0,2}$|(?<!por que )\b(tenho|teria) que\s+"
    r"(\w+\s+){0,2}$"
)
_SENTENCE_REST = re.compile(r"^[^.!?]*\?")
# The message's own cues that back what a keyword names: "fraud" with a purchase the customer
# never made, "complaint" with a broken zipper.
_BACKING = ("fraud", "purchase_denied", "damaged", "delivery_problem")
_EXTENDED_REQUEST = re.compile(r"\b(complaints|supervisors|managers)\b")


@dataclass(frozen=True, slots=True)
class IntentRule:
    """The rule-based reading: a score, and whether it is sure enough to skip the model."""

    score: float
    certain: bool


def intent_rule(reading: Reading, keywords: tuple[str, ...]) -> IntentRule:
    """Look at the frame around each keyword hit; the most request-like hit wins."""
    best = IntentRule(0.0, False)
    for keyword in keywords:
        needle = fold(keyword).strip()
        at = reading.folded.find(needle)
        if not needle or at < 0:
            continue
        rule = _frame(reading, needle, at)
        if rule.score > best.score or (rule.score == best.score and rule.certain):
            best = rule
    return best


_SENTENCE_START = re.compile(r"(^|[.!?]\s*|\n\s*)\W*$")
_IMPERATIVE_AFTER = re.compile(r"^\W*($|[.!]|now\b|please\b|asap\b|immediately\b|ya\b|jetzt\b)")


def _hypothetical(folded: str) -> bool:
    # The pattern runs over the whole message; a phrase of it must occur for it to match.
    return any(p in folded for p in _HYPOTHETICAL_PHRASES) and bool(_HYPOTHETICAL.search(folded))


_THREAT = IntentRule(0.9, True)
_SURE_REQUEST = IntentRule(0.85, True)
_UNLIKELY = IntentRule(0.2, False)
_UNDECIDED = IntentRule(0.5, False)
_ASKS_HOW = IntentRule(0.15, True)


def _obliged_or_backed(reading: Reading, needle: str, before: str, after: str) -> IntentRule | None:
    """A question about what one must do ("do I have to talk to a human?") asks for nothing; a
    keyword the message's own cues back (a purchase never made, an item broken) is meant."""
    if _OBLIGED.search(before) and _SENTENCE_REST.match(after):
        return _ASKS_HOW
    for group in _BACKING:
        if any(needle not in p and p not in needle for p in reading.hits.get(group, ())):
            return _SURE_REQUEST
    return None


def _frame(reading: Reading, needle: str, at: int) -> IntentRule:  # noqa: PLR0911 - a cascade
    """The first rule that fits the keyword's frame decides (in this order, each pattern only
    run when the rules before it did not fit)."""
    folded = reading.folded
    before = folded[max(0, at - 48) : at]
    end = at + len(needle)
    after = folded[end : end + 40]
    extended = end < len(folded) and folded[end].isalnum()
    phrase = " " in needle
    # "my lawyer will be in touch" is the threat itself
    if any(needle in p or p in needle for p in reading.hits.get("legal_strong", ())):
        return _THREAT
    # "REFUND. NOW."
    if not extended and _SENTENCE_START.search(before) and _IMPERATIVE_AFTER.match(after):
        return _SURE_REQUEST
    if (
        _NEGATED.search(before)
        or _hypothetical(folded)
        or _STATUS.search(before)
        or _AFTER_STATUS.match(after)
    ):
        return _UNLIKELY
    settled = _obliged_or_backed(reading, needle, before, folded[end:])
    if settled is not None:
        return settled
    if _REQUEST.search(before):
        return IntentRule(0.9, not extended or phrase)
    # "cancel my subscription", "speak to a person": a request by themselves
    if phrase and not extended:
        return _SURE_REQUEST
    incidental = _INCIDENTAL.search(before) is not None
    return (
        IntentRule(0.1, not reading.has("human_request") and not reading.has("anger"))
        if incidental
        else _UNDECIDED
    )
