"""One journal topic that several writers (a worker and its restarted self, or another worker)
append to and read from, each from where it last read: the Kafka journal's behaviour, in memory."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

E = TypeVar("E", bound=BaseModel)


class SharedJournal(Generic[E]):
    def __init__(self) -> None:
        self.entries: list[E] = []

    def reader(self) -> Reader[E]:
        return Reader(self)


class Reader(Generic[E]):
    def __init__(self, journal: SharedJournal[E]) -> None:
        self._journal = journal
        self._read = 0

    async def append(self, entry: E) -> None:
        self._journal.entries.append(entry)

    async def read_new(self) -> list[E]:
        new = self._journal.entries[self._read :]
        self._read = len(self._journal.entries)
        return new
