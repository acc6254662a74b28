"""A window replay's run: resumed after Ctrl-C only for the same selection, named by when it
started and what it selected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from schemas.contract.topics import ORDERS, RAW
from schemas.replay.selection import Selection
from schemas.replay.window import Window
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.replay.window import fingerprint, resume, run_id

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=8)
DAY = Selection(window=Window(START, END))
NOW = datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)


def interrupted(path: Path, selection: Selection, *, finished: bool = False) -> FileCheckpoint:
    """The checkpoint as `put_back` leaves it after two partitions' first chunks were sent."""
    checkpoint = FileCheckpoint(path / "replay.json")
    checkpoint.save(
        {
            "run": "replay-20260302T101500Z-0123abcd",
            "selection": fingerprint(selection),
            "done": {"0": 499, "3": 1207},
            "finished": finished,
        }
    )
    return checkpoint


def test_an_unfinished_run_of_the_same_selection_resumes_where_it_stopped(tmp_path: Path) -> None:
    checkpoint = interrupted(tmp_path, DAY)

    state = resume(checkpoint, DAY, NOW)

    assert state.resumed
    assert state.run == "replay-20260302T101500Z-0123abcd"
    assert state.done == {0: 499, 3: 1207}


def test_a_finished_run_is_not_resumed_the_same_window_replays_anew(tmp_path: Path) -> None:
    # Replaying a window twice is allowed (it changes nothing in Dotdigital); it is a new run.
    checkpoint = interrupted(tmp_path, DAY, finished=True)

    state = resume(checkpoint, DAY, NOW)

    assert not state.resumed
    assert state.done == {}
    assert state.run == run_id(DAY, NOW)


def test_another_selection_never_resumes_an_unfinished_run(tmp_path: Path) -> None:
    checkpoint = interrupted(tmp_path, DAY)
    other = Selection(window=Window(START, END + timedelta(hours=1)))

    state = resume(checkpoint, other, NOW)

    assert not state.resumed and state.done == {}


def test_without_a_checkpoint_a_run_starts_afresh(tmp_path: Path) -> None:
    state = resume(FileCheckpoint(tmp_path / "none.json"), DAY, NOW)

    assert (state.resumed, state.done, state.run) == (False, {}, run_id(DAY, NOW))


def test_a_selection_s_fingerprint_is_stable_and_ignores_the_order_filters_were_given_in() -> None:
    one = Selection(window=DAY.window, ids=frozenset({"12", "13"}), types=frozenset({"order"}))
    same = Selection(
        window=Window(START, END), types=frozenset({"order"}), ids=frozenset({"13", "12"})
    )

    assert fingerprint(one) == fingerprint(same)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(one))


def test_every_part_of_a_selection_changes_its_fingerprint() -> None:
    variants = [
        DAY,
        Selection(topic=ORDERS, window=DAY.window),
        Selection(window=Window(START + timedelta(seconds=1), END)),
        Selection(window=Window(START, END - timedelta(seconds=1))),
        Selection(window=Window(START)),
        Selection(window=Window(None, END)),
        Selection(window=DAY.window, types=frozenset({"order"})),
        Selection(window=DAY.window, ids=frozenset({"12"})),
        Selection(window=DAY.window, emails=frozenset({"ada@example.com"})),
    ]

    assert len({fingerprint(selection) for selection in variants}) == len(variants)


def test_a_run_id_says_when_it_started_in_utc_and_what_it_selected() -> None:
    at = datetime(2026, 3, 2, 15, 30, 5, tzinfo=timezone(timedelta(hours=1)))

    run = run_id(DAY, at)

    assert run == f"replay-20260302T143005Z-{fingerprint(DAY)[:8]}"
    assert run != run_id(Selection(topic=RAW, window=Window(START)), at)
