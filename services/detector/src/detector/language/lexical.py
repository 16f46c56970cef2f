"""The cheap reading of a message: cue phrases, shouting, punctuation, times and numbers.

Everything here is pure Python over one folded string (under a hundred microseconds), and the
costlier patterns only run when the lexicon scan says they can match; ``features.py`` turns
these readings into the classifiers' feature vectors.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from detector.language.lexicon import cue_lexicon, fold
from detector.language.numbers import Quantity, durations, quantities

# Upper-case tokens that are names, not shouting.
_ACRONYMS = frozenset(
    (
        "usb", "led", "lcd", "gdpr", "ccpa", "vat", "ups", "dhl", "usps", "fedex", "tnt", "bbb",
        "ftc", "spf", "faq", "id", "pin", "sms", "pdf", "ok", "okay", "tv", "hd", "uk", "us",
        "usa", "eu", "gb", "tb", "mb", "ram", "ssd", "cpu", "gpu", "pc", "ios", "app", "api",
        "url", "www", "ps", "vip", "diy", "xl", "xxl", "xs", "nyc", "la", "sf", "gps", "nfc",
        "ac", "dc", "eta", "asap", "rsvp", "fyi", "pm", "am", "eod", "cod", "rma", "sku", "qr",
        "b2b", "ceo", "ltd", "inc", "llc", "omg", "lol", "wtf", "ooo", "dm", "irl", "tbh", "imo",
        "aka"
    )
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CONTENT = re.compile(r"[^\W\d_]{4,}")
_STOP = frozenset(
    (
        "this", "that", "with", "have", "from", "your", "what", "when", "where", "which", "there",
        "their", "they", "them", "then", "than", "been", "were", "will", "would", "could",
        "should", "about", "just", "like", "also", "into", "only", "some", "very", "really",
        "still", "again", "know", "please", "thanks", "thank", "hello", "order", "want", "need",
        "para", "como", "pero", "esta", "este", "estoy", "tengo", "pedido", "porque", "cuando",
        "desde", "hace", "todo", "nada", "sein", "eine", "einer", "nicht", "noch", "mein",
        "meine", "haben", "habe", "bitte", "danke", "wenn", "dann", "auch", "sehr", "dans",
        "pour", "avec", "mais", "sont", "cette", "votre", "vous", "nous", "merci", "bonjour",
        "commande", "pedido", "voces", "obrigado", "obrigada", "minha", "meu", "esta", "isso"
    )
)  # fmt: skip
_EXCLAIM = re.compile(r"!{2,}|\?{2,}|\?!|!\?")
_ELAPSED_BEFORE = re.compile(
    r"(been|since|for|already|waiting|over|nearly|almost|about|hace|llevo|desde|seit|schon|"
    r"depuis|ca fait|faz|ha|ja|a)\W+$"
)
_ELAPSED_AFTER = re.compile(r"^\W*(ago|now|later|already|de espera|que espero|her|plus tard)\b")
_SOON = re.compile(
    r"\b(in|within|next|the next|en|dentro de|in den nachsten|innerhalb|dans les|dans|"
    r"nas proximas|em|proximas)\s+(\d+|a|an|one|two|three|few|couple of|un|una|dos|zwei|deux|"
    r"duas|dois)\s*(hours?|hrs?|minutes?|mins?|horas?|stunden|heures?|minutos|minuten)\b"
)
_SOON_DAYS = re.compile(
    r"\b(in|within|en|em|dans|in den nachsten)\s+(1|2|3|one|two|three|a couple of|a day|"
    r"dos|tres|deux|trois|dois|tres|zwei|drei)\s*(days?|dias|tagen|jours)\b"
)
_WEEKDAY = (
    r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles|jueves|"
    r"viernes|sabado|domingo|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|"
    r"mardi|mercredi|jeudi|vendredi|samedi|dimanche|segunda|terca|quarta|quinta|sexta)"
)
_WEEKDAY_DEADLINE = re.compile(
    rf"\b(by|before|until|till|for|hasta el|antes del|para el|ate|ate o|ate a|bis|bis zum|"
    rf"vor|avant|d'ici|pour|jusqu'a|spatestens|spatestens am|a mas tardar el|au plus tard|"
    rf"no mais tardar|o mais tardar)\s+(this\s+|next\s+|el\s+|o\s+|a\s+|ce\s+)?{_WEEKDAY}"
)
_EMPHATIC_TIME = re.compile(
    r"\b(TODAY|TONIGHT|NOW|ASAP|IMMEDIATELY|RIGHT AWAY|HOY|AHORA|YA|HEUTE|SOFORT|JETZT|"
    r"AUJOURD'HUI|MAINTENANT|HOJE|AGORA|URGENT|URGENTE|DRINGEND)\b"
)
_DEMAND = re.compile(
    r"(^|[.!?]\s+)(please\s+)?(fix|sort|send|give|get|refund|replace|resolve|answer|call|"
    r"ship|deliver|do|solve|arregl\w*|resolv\w*|envi\w*|devolv\w*|reparier\w*|schick\w*|"
    r"los|repar\w*|regl\w*|envoy\w*|rembours\w*)\b[^.!?]{0,40}\b(now|today|tonight|"
    r"immediately|asap|right away|at once|ahora|hoy|ya|heute|sofort|jetzt|aujourd'hui|"
    r"maintenant|hoje|agora|imediatamente)\b"
    # "I want a manager right now", "quiero mi dinero ya": a demand for this very moment.
    r"|\b(i want|i need|i demand|give me|get me|quiero|exijo|necesito|ich will|ich verlange|"
    r"je veux|j'exige|eu quero|exijo)\b[^.!?]{0,50}\b(right now|immediately|asap|at once|this "
    r"instant|ahora mismo|ya mismo|sofort|tout de suite|immediatement|agora mesmo|ja)\b"
)
# A shouted immediacy standing on its own: "REFUND. NOW.", "ASAP!!", "RIGHT NOW".
_SHOUTED_NOW = re.compile(r"(^|[.!?]\s*|\s)(NOW|ASAP|RIGHT NOW|IMMEDIATELY|AHORA|SOFORT|AGORA)[.!]")
_QUESTION_START = re.compile(
    r"^(do|does|is|are|can|could|will|would|how|what|which|where|when|why|should|any|"
    r"tienen|teneis|hay|es|puedo|como|wie|gibt|ist|haben|habt|kann|est-ce|avez|peut|"
    r"pouvez|voces|tem|e|posso|como|qual|onde)\b"
)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the lexicon and a few patterns found in one message."""

    text: str
    folded: str
    hits: dict[str, list[str]]
    counts: dict[str, int]
    """How many distinct phrases of each group were found (absent: none)."""
    shout: float
    """How much of the message is upper case beyond ordinary capitalisation (0-1)."""
    caps_words: int
    """Upper-case words of three letters or more that are not acronyms ("NOW", "TWICE")."""
    exclaim: int
    """Runs of "!!", "???", "?!"."""
    bangs: int
    elapsed_days: float
    """The longest waiting time the customer reports ("it's been two weeks"), in days."""
    soon: bool
    """A deadline within hours or a couple of days ("in 2 hours", "in 2 days", "by Friday")."""
    question: bool
    emphatic_time: bool
    """A time word shouted ("TODAY", "NOW")."""
    demand: bool
    """An imperative with an immediate horizon ("fix this today", "send it now")."""

    # Numbers and content words are read on demand: only number conditions, repeated
    # complaints and similarity look at them, and they cost more than the rest of a reading.
    @property
    def quantities(self) -> tuple[Quantity, ...]:
        """Money amounts, counts and durations mentioned."""
        hits = self.hits
        return _quantities(self.folded, "currency" in hits, "time_unit" in hits, "month" in hits)

    @property
    def content(self) -> frozenset[str]:
        """Content-word stems, for spotting a complaint repeated across messages."""
        return _content(self.folded)

    def count(self, group: str) -> int:
        return len(self.hits.get(group, ()))

    def has(self, group: str) -> bool:
        return group in self.hits

    @classmethod
    def silent(cls) -> "Reading":
        """The reading of a message without a single cue."""
        return cls("", "", {}, {}, 0.0, 0, 0, 0, 0.0, False, False, False, False)


@lru_cache(maxsize=4096)
def _quantities(folded: str, currency: bool, time_unit: bool, month: bool) -> tuple[Quantity, ...]:
    return tuple(quantities(folded, currency=currency, time_unit=time_unit, month=month))


@lru_cache(maxsize=8192)
def _content(folded: str) -> frozenset[str]:
    return frozenset(word[:6] for word in _CONTENT.findall(folded) if word not in _STOP)


_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LETTERS = _ASCII_UPPER + _ASCII_UPPER.lower()
# Two capitals, maybe around an apostrophe: every upper-case word of three letters has them.
_CAPITALS = re.compile(r"[A-Z]'?[A-Z]")


def _shouting(text: str) -> tuple[float, int]:
    if text.isascii():
        # Counting by deleting bytes runs in C: ten times faster than a per-character test.
        raw = text.encode()
        upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        if upper < 3:
            return 0.0, 0  # the common case, decided without splitting words
        letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
        caps_words = _caps_words(text) if _CAPITALS.search(text) else 0
    else:
        upper = sum(map(str.isupper, text))
        if upper < 3:
            return 0.0, 0
        letters = sum(map(str.isalpha, text))
        caps_words = _caps_words(text)
    if letters < 8:
        return 0.0, caps_words
    return max(0.0, min(1.0, (upper / letters - 0.25) / 0.6)), caps_words


def _caps_words(text: str) -> int:
    return sum(
        1
        for word in _WORD.findall(text)
        if len(word) >= 3 and word.isupper() and word.casefold() not in _ACRONYMS
    )


def _elapsed(folded: str) -> float:
    longest = 0.0
    if not any(q.value >= 2 for q in durations(folded)):
        return 0.0
    for match in re.finditer(
        r"(\d+|a|an|one|two|three|four|five|six|several|few|couple of|un|una|dos|tres|zwei|drei|"
        r"deux|trois|dois|duas|diez|dez|zehn|dix)\s*(days?|weeks?|months?|dias|semanas?|meses|"
        r"tage|tagen|wochen?|monate?n?|mois|jours|semaines?)\b",
        folded,
    ):
        before = folded[max(0, match.start() - 14) : match.start()]
        after = folded[match.end() : match.end() + 16]
        if _ELAPSED_BEFORE.search(before) or _ELAPSED_AFTER.match(after):
            days = quantities(match.group(0))
            if days:
                longest = max(longest, days[0].value)
    return longest


# Signs of a problem: "genius" or "as usual" is sarcasm about one of them, sincere without.
_PROBLEM_SIGNS = frozenset(
    (
        "anger", "insult", "sarcasm", "angry_emoji", "issue", "repeat", "repeat_strong",
        "damaged", "delivery_problem", "threat_leave",
    )
)  # fmt: skip


# Signs of a problem with the shop: with none of them, a laughing customer's eye-roll is banter.
_TROUBLE = frozenset(
    (
        "anger", "insult", "issue", "repeat", "repeat_strong", "damaged", "delivery_problem",
        "threat_leave", "legal_strong",
    )
)  # fmt: skip


# Cues that say something is there, which a negation just before says is not: "no allergies in
# our house", "I'm not on any other medication", "sin alergias", "keine Allergie".
_ABSENT_WHEN_NEGATED = ("health", "health_trait", "medical_state", "safety", "a11y_need")
_NEGATED_BEFORE = re.compile(
    r"\b(?:no|not|never|without|none|nor|kein|keine|keinen|keiner|nicht|ohne|nie|sin|ningun|"
    r"ninguna|ninguno|nada de|sem|nenhum|nenhuma|nunca|sans|pas de|pas d'|aucun|aucune|jamais)"
    # within the same clause: "No, I have a rash" answers a question and negates nothing
    r"[^\w.,;:!?]+(?:\w+[^\w.,;:!?]+){0,3}$"
)


# A wish the customer says they do not have: "I don't want to cancel", "no quiero darme de
# baja", "je ne veux surtout pas annuler", "não quero cancelar", "ich möchte mein Abo nicht
# kündigen". Only the wish is negated, never the ability: "I can't cancel it in the app" still
# wants to cancel.
_UNWANTED = ("cancel", "refund_want")
_UNWANTED_BEFORE = re.compile(
    r"(?:\b(?:don't|dont|do not|doesn't|does not|never|won't|will not)\s+(?:\w+\s+)?"
    r"(?:want|wish|intend|plan|mean|need)(?:ed)?(?:\s+to)?|\bno (?:intention|plans?|wish|desire) "
    r"(?:of|to)|\bnot (?:looking|trying|planning|wanting|going|asking) (?:to|for)|"
    r"\bno (?:quiero|queremos|pienso|pensamos|pretendo|busco|tengo (?:intencion|pensado) de)|"
    r"\bne (?:veux|voulons|souhaite|souhaitons|compte|comptons)(?: \w+)? pas|"
    r"\bpas (?:envie|l'intention|question) d[e']|"
    r"\bnao (?:quero|queremos|pretendo|pretendemos|penso em|vou)|"
    r"\b(?:will|mochte|mochten|wollen|werde|werden|moechte)\b(?: \w+){0,4} nicht)"
    r"(?:[^\w.,;:!?]+\w+){0,2}[^\w.,;:!?]*$"
)
# Damage the customer says is not there: "nothing broken", "no damage at all", "nada roto",
# "nichts kaputt", "rien de cassé", "nenhuma peça quebrada" (right before the cue word).
_ABSENT_DAMAGE = ("damaged", "broken_apart", "issue")
_NONE_BEFORE = re.compile(
    r"\b(?:nothing|not|no|never|none|without|nada|nichts|kein\w*|rien(?: de)?|aucun\w*|sin|"
    r"sem|nenhum\w*|ningun\w*|nunca|jamais|nie)(?:[^\w.,;:!?]+\w+){0,1}[^\w.,;:!?]*$"
)


_NEGATABLE = frozenset((*_ABSENT_WHEN_NEGATED, *_UNWANTED, *_ABSENT_DAMAGE))
NEGATION = re.compile(
    r"\b(?:no|not|never|without|none|nor|nothing|nobody|empty|kein\w*|nicht|nichts|ohne|nie|"
    r"niemand|leer|sin|ningun\w*|nada|nadie|nunca|vaci[oa]s?|sem|nao|nenhum\w*|ninguem|"
    r"vazi[oa]s?|sans|pas|rien|aucun\w*|personne|jamais|vides?)\b|n't\b"
)
"""A word that denies something, in the five languages ("not", "nobody", "the trash is
empty", "nichts", "nadie", "personne", "vazio"): where none occurs, nothing is denied."""


# Waiting is trouble too ("third week waiting 🙄😂"), in any of the five languages.
_WAITING = re.compile(r"\b(?:wait|waiting|waited|esper|warte|attend|aguard)\w*|\bstill\b|\bagain\b")


def _without_emoji(hits: dict[str, list[str]], groups: tuple[str, ...]) -> None:
    """Drop the emoji (not the words) of ``groups``: "🙄😂" about a cat, "🤦 my bad"."""
    for group in groups:
        words = [phrase for phrase in hits.get(group, ()) if any(c.isalnum() for c in phrase)]
        if words:
            hits[group] = words
        else:
            hits.pop(group, None)


# A time word after these tells what was planned, how a fault behaves or that it is over, not
# when the customer needs something: "it was scheduled for today, tracking says tomorrow",
# "estava prevista para hoje", "it still drops within an hour", "it drains now!", "ya funciona
# ahora".
_STATUS_BEFORE = re.compile(
    r"(?:scheduled|expected|estimated|planned|supposed to (?:arrive|come|be here)|meant to "
    r"arrive|due to arrive|tracking (?:now )?(?:says|said|shows)|(?:drops|disconnects|dies|cuts "
    r"out|shuts (?:down|off)|turns off|restarts|reboots|crashes|freezes)(?: again)?|"
    r"(?:works|working|drains|draining|charges|charging|fixed|sorted|fine|resolved|solved|"
    r"connects|funciona|geht|lauft|marche|fonctionne)(?: (?:again|de nuevo|wieder|a nouveau|"
    r"de novo))?|"
    r"prevista|previsto|previstas|previstos|el seguimiento (?:dice|pone)|pone que llega|"
    r"geplant|vorgesehen|angekundigt|laut sendungsverfolgung|prevue|prevu|le suivi (?:indique|dit)|"
    r"(?:o )?(?:rastreio|rastreamento|tracking) (?:diz|mostra))"
    r"(?: (?:for|on|by|para|pour|fur|am|a|o|el|la|le))?\W*$"
)
_TIME_GROUPS = ("urg_deadline", "urg_time", "urg_now", "urg_now_weak")


def _drop_where_preceded(
    hits: dict[str, list[str]], groups: tuple[str, ...], folded: str, before: re.Pattern[str]
) -> list[str]:
    """Drop the phrases of ``groups`` whose every occurrence ``before`` matches just before
    (up to 40 characters back): a negated allergy, a time that only says what was planned.
    Returns the phrases dropped."""
    dropped: list[str] = []
    for group in groups:
        phrases = hits.get(group)
        if not phrases:
            continue
        kept = [
            phrase
            for phrase in phrases
            if any(
                not before.search(folded, max(0, at - 40), at)
                for at in _occurrences(folded, phrase)
            )
        ]
        dropped.extend(phrase for phrase in phrases if phrase not in kept)
        _keep(hits, group, kept)
    return dropped


def _keep(hits: dict[str, list[str]], group: str, kept: list[str]) -> None:
    """Only ``kept`` of ``group``'s phrases remain; a group left empty is gone."""
    if kept:
        hits[group] = kept
    else:
        del hits[group]


def _drop_dates(hits: dict[str, list[str]], folded: str) -> None:
    """Drop "today" where every occurrence names the date ("today's Sunday the 8th")."""
    dates = {match.start() for match in _TODAY_IS.finditer(folded)}
    kept = [
        phrase
        for phrase in hits["urg_time"]
        if phrase not in _TODAY or any(at not in dates for at in _occurrences(folded, phrase))
    ]
    _keep(hits, "urg_time", kept)


def _occurrences(folded: str, phrase: str) -> list[int]:
    found, at = [], folded.find(phrase)
    while at >= 0:
        found.append(at)
        at = folded.find(phrase, at + 1)
    return found or [0]


_ANY_STATUS = re.compile(
    r"scheduled|expected|estimated|planned|supposed to|meant to|due to arrive|tracking|drops|"
    r"disconnects|dies|cuts out|shuts|turns off|restarts|reboots|crashes|freezes|previst|"
    r"seguimiento|pone que|geplant|vorgesehen|angekundigt|sendungsverfolgung|prevu|suivi|"
    r"rastrei|rastream|works|working|drains|draining|charges|charging|fixed|sorted|fine|"
    r"resolved|solved|connects|funciona|geht|lauft|marche|fonctionne"
)
# "Today" that names the date, not a deadline: "today's Sunday the 8th", "hoy es lunes".
_TODAY_IS = re.compile(
    r"\b(?:today(?:'s| is)|hoy es|heute ist|aujourd'hui (?:c'est|on est|nous sommes)|hoje e)"
    r" (?:the \d|\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|"
    r"miercoles|jueves|viernes|sabado|domingo|montag|dienstag|mittwoch|donnerstag|freitag|"
    r"samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|segunda|terca|quarta|"
    r"quinta|sexta)"
)
_TODAY = ("today", "hoy", "heute", "aujourd'hui", "hoje")
# A "what if" with a word or two inside the set phrase, or a conditional about what someone
# might do: "what exactly happens if", "was passiert eigentlich, wenn", "if she did eat grapes,
# what should we do?", "que pasa entonces si", "o que acontece se".
_WHAT_IF = re.compile(
    r"\bwhat (?:\w+ ){0,2}happens,? (?:if|when)\b|\bwhat (?:should|do|would) (?:i|we) do if\b|"
    r"\bif (?:she|he|it|they|we|i|you|my \w+|our \w+) (?:ever|did|does|were to|should|happened "
    r"to)\b(?! not\b)|\bwas passiert (?:\w+,? ){0,2}wenn\b|\bque pasa(?:ria)? (?:\w+ ){0,2}si\b|"
    r"\bqu'est-ce qui se passe (?:\w+ ){0,2}si\b|\bque se passe-t-il (?:\w+ ){0,2}si\b|"
    r"\bo que acontece (?:\w+ ){0,2}se\b"
)
# A platform named without any trouble is no threat to go public: "loved the video you posted
# on Instagram".
_PLATFORMS = frozenset(
    ("instagram", "facebook", "reddit", "youtube", "twitter", "tiktok", "trustpilot")
)


@lru_cache(maxsize=8192)
def read(text: str) -> Reading:
    """The lexical reading of ``text`` (cached: earlier messages are read again and again)."""
    folded = fold(text)
    hits = cue_lexicon().scan(folded)
    praise = hits.pop("sarcasm_weak", None)
    if praise is not None and not _PROBLEM_SIGNS.isdisjoint(hits):
        hits.setdefault("sarcasm", []).extend(praise)
    if "playful" in hits and _TROUBLE.isdisjoint(hits) and not _WAITING.search(folded):
        _without_emoji(hits, ("angry_emoji", "sarcasm"))
    if not _NEGATABLE.isdisjoint(hits) and NEGATION.search(folded):
        if any(group in hits for group in _ABSENT_WHEN_NEGATED):
            _drop_where_preceded(hits, _ABSENT_WHEN_NEGATED, folded, _NEGATED_BEFORE)
        denied = []
        if any(group in hits for group in _UNWANTED):
            denied += _drop_where_preceded(hits, _UNWANTED, folded, _UNWANTED_BEFORE)
        if any(group in hits for group in _ABSENT_DAMAGE):
            denied += _drop_where_preceded(hits, _ABSENT_DAMAGE, folded, _NONE_BEFORE)
        if denied and _TROUBLE.isdisjoint(hits):
            # "I don't want to cancel, only to pause", "nothing broken, it just needs a
            # clean": the customer denies the very thing, and reports no other trouble
            hits["denied"] = denied
    if any(group in hits for group in _TIME_GROUPS) and _ANY_STATUS.search(folded):
        _drop_where_preceded(hits, _TIME_GROUPS, folded, _STATUS_BEFORE)
    if "urg_time" in hits and _TODAY_IS.search(folded):
        _drop_dates(hits, folded)
    if "?" in folded and "hypothetical" not in hits:
        what_if = _WHAT_IF.search(folded)
        if what_if is not None:
            hits["hypothetical"] = [what_if.group(0)]
    leave = hits.get("threat_leave")
    if (
        leave
        and _PLATFORMS.issuperset(leave)
        and _TROUBLE.isdisjoint(hits.keys() - {"threat_leave"})
    ):
        del hits["threat_leave"]
    shout, caps_words = _shouting(text)
    # The lexicon scan says which of the costlier patterns can match at all.
    time_unit = "time_unit" in hits
    soon = bool(
        (time_unit and (_SOON.search(folded) or _SOON_DAYS.search(folded)))
        or ("weekday" in hits and _WEEKDAY_DEADLINE.search(folded))
    )
    stripped = folded.strip()
    timed = any(g in hits for g in ("urg_now", "urg_now_weak", "urg_time", "urg_deadline"))
    loud = caps_words > 0
    return Reading(
        text=text,
        folded=folded,
        hits=hits,
        counts={group: len(phrases) for group, phrases in hits.items()},
        shout=shout,
        caps_words=caps_words,
        exclaim=len(_EXCLAIM.findall(text)) if ("!" in text or "??" in text) else 0,
        bangs=text.count("!"),
        elapsed_days=_elapsed(folded) if time_unit else 0.0,
        soon=soon,
        question=stripped.endswith("?") or bool(_QUESTION_START.match(stripped)),
        emphatic_time=loud and bool(_EMPHATIC_TIME.search(text)),
        demand=bool((timed and _DEMAND.search(stripped)) or (loud and _SHOUTED_NOW.search(text))),
    )


def repeated_share(current: Reading, earlier: tuple[Reading, ...]) -> float:
    """How much of the current message's content the customer already wrote before (0-1)."""
    if not earlier or not current.content:
        return 0.0
    before = frozenset().union(*(reading.content for reading in earlier))
    return len(current.content & before) / len(current.content)
