"""Case-insensitive substring matching of many keywords in one pass (Aho-Corasick)."""

from functools import lru_cache

import ahocorasick


class KeywordMatcher:
    """Finds which of the configured keywords occur in a text, in one scan of the text."""

    def __init__(self, keywords: tuple[str, ...]) -> None:
        self._automaton = ahocorasick.Automaton()
        for keyword in keywords:
            needle = keyword.casefold().strip()
            if needle:
                self._automaton.add_word(needle, keyword)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[str]:
        """The configured keywords found in ``text``, in order of first appearance, once each."""
        if self._empty or not text:
            return []
        found: dict[str, None] = {}
        for _end, keyword in self._automaton.iter(text.casefold()):
            found.setdefault(keyword)
        return list(found)


@lru_cache(maxsize=4096)
def matcher_for(keywords: tuple[str, ...]) -> KeywordMatcher:
    """One automaton per distinct keyword list, shared by every agent that uses it."""
    return KeywordMatcher(keywords)
