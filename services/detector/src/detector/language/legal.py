"""Legal threats: courts, lawyers, chargebacks, payment disputes, consumer agencies.

Lexical on purpose: the phrases are crisp, and "my sister just became a lawyer" must not read as
a threat, which the incidental-use cues catch more reliably than similarity would.
"""

from detector.language.lexical import Reading


def legal_score(reading: Reading) -> float:
    """0.9 for an explicit threat ("small claims", "my lawyer will", "chargeback"), 0.7 for a
    legal word in a threatening frame ("I will ... court"), 0 for incidental mentions."""
    incidental = reading.has("legal_incidental")
    if reading.has("legal_strong"):
        return 0.5 if incidental else 0.9
    if reading.has("legal_entity") and reading.has("legal_frame") and not incidental:
        return 0.7
    return 0.0
