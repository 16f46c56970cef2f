"""Conversation states for the chat.messages handler: kept in memory between batches by the
instance handling the conversation, saved to PostgreSQL after every batch if nobody else wrote
them since (their version).

A conversation's messages reach one consumer, one batch after another, so a state cached
after its last save is, almost always, still the stored one: a batch then costs one statement
(the save) instead of a locked read-modify-write transaction (four round trips, which kept the
detector's consumers waiting on the database at a few hundred messages a second). The version
catches the exceptions (the idle timer or a resume wrote the state, or another instance took
the partition over): the save leaves those states alone, and the caller reads them again and
decides their messages anew, before anything was published.
"""

from collections.abc import Iterable

from detector import repository
from detector.state import ConversationKey, ConversationState
from escalator_runtime.db import Pool


class StateStore:
    def __init__(self, pool: Pool, capacity: int) -> None:
        self.pool = pool
        self._capacity = capacity
        # key → (stored version, state as saved), least recently used first.
        self._cached: dict[ConversationKey, tuple[int, ConversationState]] = {}
        self._versions: dict[ConversationKey, int | None] = {}
        """The stored version of each state handed out by ``load`` and not saved yet."""

    async def load(
        self, keys: Iterable[ConversationKey]
    ) -> dict[ConversationKey, ConversationState]:
        """The states of ``keys`` (new ones for conversations never stored), for the caller to
        change and ``save``. Cached ones are handed out as they are: until saved, they are the
        caller's."""
        states: dict[ConversationKey, ConversationState] = {}
        missing = []
        for key in dict.fromkeys(keys):
            cached = self._cached.pop(key, None)
            if cached is None:
                missing.append(key)
            else:
                self._versions[key], states[key] = cached
        if missing:
            async with self.pool.acquire() as connection:
                stored = await repository.read_states(connection, missing)
            for key in missing:
                version, state = stored.get(key, (None, ConversationState()))
                self._versions[key], states[key] = version, state
        return states

    async def save(self, states: dict[ConversationKey, ConversationState]) -> set[ConversationKey]:
        """Save ``states`` (as ``load`` handed them out, changed), each only if its stored
        version is still the one loaded; returns the keys of those someone else wrote since,
        which are not saved (``load`` reads them again)."""
        if not states:  # a part of a batch with nothing in it (``decide_in_parts``)
            return set()
        expected = {key: (self._versions.pop(key, None), state) for key, state in states.items()}
        async with self.pool.acquire() as connection:
            saved = await repository.save_unchanged(connection, expected)
        for key, version in saved.items():
            self._cached[key] = (version, states[key])
        while len(self._cached) > self._capacity:
            del self._cached[next(iter(self._cached))]
        return set(states) - set(saved)

    def published(self, keys: Iterable[ConversationKey]) -> None:
        """The events the states of ``keys`` kept for a replay are out: a redelivery of their
        messages now yields nothing. (The saved copies list them until the next save, so after
        a restart such a redelivery publishes them again, which consumers take as a replay.)"""
        for key in keys:
            cached = self._cached.get(key)
            if cached is not None:
                cached[1].last_events = []

    def forget(self, keys: Iterable[ConversationKey]) -> None:
        """Drop what is held of ``keys``: after a failed batch (states changed but not saved),
        or when another writer changed them."""
        for key in keys:
            self._cached.pop(key, None)
            self._versions.pop(key, None)
