"""Which imports a writer must wait for: started by another writer from a partition it is about
to write from, and never seen to end."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.dotdigital.journals.imports import (
    ImportEntry,
    ImportKind,
    ImportMark,
    left_behind,
    unended,
)

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def entry(
    attempt: str, mark: ImportMark, partitions: list[int], owner: str = "dead"
) -> ImportEntry:
    return ImportEntry(
        attempt=attempt,
        kind=ImportKind.INSIGHT,
        mark=mark,
        partitions=partitions,
        owner=owner,
        at=AT,
    )


def test_an_import_is_running_from_its_start_until_its_end() -> None:
    running = unended(
        {}, [entry("a", ImportMark.STARTED, [1]), entry("b", ImportMark.STARTED, [2])]
    )
    running = unended(running, [entry("a", ImportMark.ENDED, [1], owner="someone else")])

    assert list(running) == ["b"]


def test_an_end_read_before_its_start_leaves_nothing_running() -> None:
    # Marks of one import share a key, so they come in order; an end alone (compaction kept
    # only the last mark) is simply nothing to wait for.
    assert unended({}, [entry("a", ImportMark.ENDED, [1])]) == {}


def test_a_writer_waits_for_others_imports_from_its_partitions_only() -> None:
    running = unended(
        {},
        [
            entry("theirs-here", ImportMark.STARTED, [0, 3]),
            entry("theirs-elsewhere", ImportMark.STARTED, [5]),
            entry("mine", ImportMark.STARTED, [3], owner="me"),
        ],
    )

    waiting = left_behind(running, {3, 4}, "me")

    assert [e.attempt for e in waiting] == ["theirs-here"]
