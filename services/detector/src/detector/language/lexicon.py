"""Phrase lexicons matched in one pass over a message (Aho-Corasick), on folded text.

Folding (case-fold, accents stripped, typographic quotes made plain) lets one phrase list
match "vergüenza" and "verguenza", "I'm" and "I\u2019m". Phrases come from TOML files in
``data/`` so linguists can extend them without touching code.
"""

import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import ahocorasick

from detector.language.numbers import MONTH_WORDS

# Typographic quotes and dashes: right/left single quote, acute accent, backtick, double quotes,
# en dash.
_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
    }
)
# Combining marks left by NFKD decomposition ("é" -> "e" + U+0301), deleted in one translate.
_MARKS = dict.fromkeys(c for c in range(0x300, 0x370))


def fold(text: str) -> str:
    """Case-folded text without accents, with plain quotes; same length is not guaranteed."""
    folded = text.translate(_QUOTES).casefold()
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFKD", folded).translate(_MARKS)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True, slots=True)
class _Entry:
    group: str
    phrase: str
    left_bound: bool
    right_bound: bool


class Lexicon:
    """Counts, per group, the distinct phrases of the group found in a text."""

    def __init__(
        self, groups: Mapping[str, Iterable[str]], nested: frozenset[str] | None = None
    ) -> None:
        """``nested``: groups whose phrases count even inside a longer phrase (None: all)."""
        self._automaton = ahocorasick.Automaton()
        self._nested = frozenset(groups) if nested is None else nested
        entries: dict[str, list[_Entry]] = {}
        for group, phrases in groups.items():
            for raw in phrases:
                phrase = fold(raw.strip())
                left, right = not phrase.startswith("*"), not phrase.endswith("*")
                phrase = phrase.strip("*")
                if not phrase:
                    continue
                # Boundaries only matter where the phrase itself starts/ends with a letter.
                entry = _Entry(
                    group,
                    phrase,
                    left and _is_word_char(phrase[0]),
                    right and _is_word_char(phrase[-1]),
                )
                entries.setdefault(phrase, []).append(entry)
        for phrase, found in entries.items():
            self._automaton.add_word(phrase, tuple(found))
        self.groups = tuple(groups)
        self._empty = not entries
        if not self._empty:
            self._automaton.make_automaton()

    def scan(self, folded: str) -> dict[str, list[str]]:
        """The phrases found in ``folded`` (already ``fold``-ed), by group, in text order.

        A phrase inside a longer phrase that was found too does not count: the longer one is
        the more specific reading ("effective immediately" is calm, not "immediately" urgent;
        "thanks for nothing" is sarcasm, not thanks). Groups in ``nested`` always count.
        """
        hits: dict[str, list[str]] = {}
        if self._empty or not folded:
            return hits
        size = len(folded)
        found: list[tuple[int, int, _Entry]] = []
        for end, entries in self._automaton.iter(folded):
            for entry in entries:
                start = end - len(entry.phrase) + 1
                if entry.left_bound and start > 0 and _is_word_char(folded[start - 1]):
                    continue
                if entry.right_bound and end + 1 < size and _is_word_char(folded[end + 1]):
                    continue
                found.append((start, end + 1, entry))
        inside = _inside_longer(found) if len(found) > 1 else ()
        for index, (_start, _end, entry) in enumerate(found):
            if index in inside and entry.group not in self._nested:
                continue
            phrases = hits.setdefault(entry.group, [])
            if entry.phrase not in phrases:
                phrases.append(entry.phrase)
        return hits


def _inside_longer(found: list[tuple[int, int, "_Entry"]]) -> set[int]:
    """Which of the spans lie inside a strictly longer one, in one sweep by start (the
    first span to reach the furthest end starts earliest, so it is the longest)."""
    order = sorted(range(len(found)), key=lambda i: (found[i][0], -found[i][1]))
    inside: set[int] = set()
    far_end, far_start = -1, -1
    for index in order:
        start, end, _entry = found[index]
        if far_end > end or (far_end == end and far_start < start):
            inside.add(index)
        elif end > far_end:
            far_end, far_start = end, start
    return inside


def _load(name: str) -> dict[str, list[str]]:
    raw = tomllib.loads(resources.files("detector.language").joinpath("data", name).read_text())
    groups: dict[str, list[str]] = {}

    def collect(prefix: str, table: Mapping[str, object]) -> None:
        for key, value in table.items():
            if isinstance(value, list):
                groups.setdefault(prefix, []).extend(str(item) for item in value)
            elif isinstance(value, Mapping):
                collect(f"{prefix}.{key}" if prefix else key, value)

    collect("", raw)
    return groups


@cache
def cue_lexicon() -> Lexicon:
    """The sentiment, urgency, legal and concept cues of ``data/cues.toml``."""
    # Helper groups only gate patterns (numbers, deadlines, date ranges, price matches,
    # charges): "in 2 hours" must keep its unit, "a lower price" its price. The month names
    # are the ones ``numbers`` reads dates with.
    helpers = frozenset({"time_unit", "weekday", "currency", "price", "charged", "month"})
    return Lexicon(_load("cues.toml") | {"month": list(MONTH_WORDS)}, nested=helpers)


@cache
def topic_lexicon() -> Lexicon:
    """The topic and area cues of ``data/topics.toml`` (groups ``topic.x`` and ``area.x``):
    every hit counts, topic and area are read independently."""
    return Lexicon(_load("topics.toml"))
