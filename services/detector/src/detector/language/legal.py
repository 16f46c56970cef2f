"""Legal threats: courts, lawyers, chargebacks, payment disputes, consumer agencies.

Lexical on purpose: the phrases are crisp, and "my sister just became a lawyer" must not read as
a threat, which the incidental-use cues catch more reliably than similarity would. A legal phrase
is a threat only where the customer makes it: not inside quoted text ("engrave 'I will sue
you'"), not negated ("I don't want a chargeback"), not withdrawn ("I was about to file a
chargeback, but it arrived"), not asked about ("will a failed payment count as a dispute?"),
and a review or regulatory body only when the customer reports or complains to it.
"""

import re

from detector.language.lexical import Reading

# Where the clause a cue stands in begins: a sentence end, or a "but" that turns it around.
_CLAUSE_START = re.compile(
    r"[.!?;\n]|\b(but|however|pero|sin embargo|aber|jedoch|mais|cependant|porem|mas)\b"
)
# "no" only before a verb or "need" ("no need", "no quiero"): Portuguese "no" means "in the"
# ("uma reclamação no Procon").
_NEGATION = re.compile(
    r"n't\b|\b(not|never|nor|without|nicht|kein\w*|nie|niemals|pas|jamais|nunca|nao|sem|sin)\b"
    r"|\bno (need|way|intention|plans?|longer|reason|quiero|voy|vamos|pienso|tengo|necesito|"
    r"hace falta|hay|es|pretendo|deseo|hemos|he)\b"
)
# What keeps a threat standing after a negation: "if you don't refund me I'll sue",
# "no other choice than a chargeback".
_THREAT_AFTER = re.compile(
    r"\b(i'll|i will|i'm|i am|im|we'll|we will|we're|gonna|i have to|i must|"
    r"no (other )?(choice|option)|otherwise|or else|or i|unless|voy a|tendre que|ich werde|"
    r"sonst|je vais|sinon|vou|senao)\b"
)
_CONDITIONAL = re.compile(
    r"\b(if|unless|until|till|or|si|wenn|falls|solange|sauf si|a menos que|se|caso|enquanto)\b"
)
_WITHDRAWN = re.compile(
    r"\b(was|were) (about|going|ready|planning|close|this close|so close|gonna|on the verge|"
    r"on the point)\b|\b(almost|nearly|no longer|withdr[ae]w\w*|cancel+ed|closed|dropped|"
    r"retracted|called off|estaba a punto|iba a|war kurz davor|j'allais|j'etais sur le point|"
    r"eu ia|estava prestes|quase)\b"
)
# A question about a legal step, not a step announced; unless it is a threat put as a question.
_ASKING = re.compile(
    r"^\W*(how|what|does|do|will|would|is|are|can|could|when|which|if|est-ce|comment|como|"
    r"wie|was|wird|kann|puedo|posso|pode|quel|qual)\b"
)
_VEILED = re.compile(r"\b(want me to|should i just|or do i have to|or should i|or shall i)\b")
# What a customer does with a review or regulatory body when they threaten with it.
_TO_A_BODY = re.compile(
    r"\b(report\w*|complain\w*|contact\w*|fil(e|ed|ing)|lodg\w*|escalat\w*|writ(e|ing) to|"
    r"tell\w*|inform\w*|notify\w*|take (this|it)|going to|gonna|i'll|i will|hear (about|from)|"
    r"reclam\w*|denunci\w*|quej\w*|acudir\w*|ire a|meld\w*|beschwer\w*|einschalten|"
    # German separable verbs: "schalte ich die Verbraucherzentrale ein", "wende mich an"
    r"schalte|schalten|wende mich|wenden uns|gehe zur|gehe zum|signal\w*|plainte|saisi\w*|"
    r"queix\w*|acionar|recorr\w*)\b"
)
# Quoted text: "…" or '…' (apostrophes inside words allowed), someone else's words or text to
# print, engrave or embroider.
_QUOTED = re.compile(r"\"[^\"\n]{2,}\"|(?<!\w)'(?:[^'\n]|'(?=\w))+'(?!\w)")
_SENTENCE = re.compile(r"[^.!?\n]*[.!?\n]*")


def legal_score(reading: Reading) -> float:
    """0.9 for an explicit threat ("small claims", "my lawyer will", "chargeback"), 0.7 for a
    legal word in a threatening frame ("I will ... court"), 0 for incidental mentions."""
    incidental = reading.has("legal_incidental")
    if reading.has("legal_strong") and _stands(reading, reading.hits["legal_strong"]):
        return 0.5 if incidental else 0.9
    if (
        reading.has("legal_entity")
        and reading.has("legal_frame")
        and not incidental
        and _stands(reading, reading.hits["legal_entity"])
    ):
        return 0.7
    return 0.0


def _stands(reading: Reading, phrases: list[str]) -> bool:
    """Whether any occurrence of ``phrases`` is a threat the customer makes (legal cues are
    rare, so this runs on a handful of messages)."""
    folded = reading.folded
    quotes = "'" in folded or '"' in folded
    quoted = [m.span() for m in _QUOTED.finditer(folded)] if quotes else []
    bodies = reading.hits.get("legal_body", ())
    for phrase in phrases:
        for match in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded):
            start = match.start()
            if any(a <= start < b for a, b in quoted):
                continue
            sentence = _sentence_around(folded, start)
            if phrase in bodies and not _TO_A_BODY.search(sentence):
                continue
            if _asked(sentence):
                continue
            if not _retracted(folded[:start]):
                return True
    return False


def _sentence_around(folded: str, start: int) -> str:
    for sentence in _SENTENCE.finditer(folded):
        if sentence.start() <= start < sentence.end():
            return sentence.group(0)
    return folded


def _asked(sentence: str) -> bool:
    stripped = sentence.strip()
    return (
        stripped.endswith("?")
        and bool(_ASKING.match(stripped))
        and not _VEILED.search(stripped)
        and not _THREAT_AFTER.search(stripped)
    )


def _retracted(before: str) -> bool:
    """Negated or withdrawn within the cue's own clause ("I don't want it to look like a",
    "I was about to file a"), unless a threat frame follows the negation."""
    starts = [m.end() for m in _CLAUSE_START.finditer(before)]
    clause = before[starts[-1] if starts else 0 :]
    if _WITHDRAWN.search(clause):
        return True
    negations = [m.start() for m in _NEGATION.finditer(clause)]
    if not negations:
        return False
    condition = _CONDITIONAL.search(clause)
    if condition and condition.start() < negations[-1]:
        return False  # "if this isn't sorted by Monday, I'm filing a chargeback"
    return not any(m.start() >= negations[-1] for m in _THREAT_AFTER.finditer(clause))
