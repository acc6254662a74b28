"""A replay's progress off a terminal: a plain line every few seconds with count, share, rate
and time left, and a last line when a phase ends."""

from __future__ import annotations

import io

from streams.sources.replay.progress import Progress
from tests.support.faketime import FakeTime


def progress(every: float = 5.0) -> tuple[Progress, io.StringIO, FakeTime]:
    stream, time = io.StringIO(), FakeTime()
    return Progress(stream, every=every, clock=time.clock), stream, time


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_log_gets_a_line_at_most_every_few_seconds_however_fast_records_go() -> None:
    shown, stream, time = progress(every=5.0)
    shown.start("replaying commerce.raw.v1", 1000)

    for _ in range(40):  # 40 records, 0.25 s apart: 10 s
        time.advance(0.25)
        shown.advance()

    assert len(lines(stream)) == 2
    assert shown.done == 40


def test_a_line_says_how_many_of_how_many_the_rate_and_the_time_left() -> None:
    shown, stream, time = progress(every=5.0)
    shown.start("replaying commerce.raw.v1", 2000)

    time.advance(5.0)
    shown.advance(500)

    assert lines(stream) == ["replaying commerce.raw.v1: 500/2,000 (25 %), 100/s, about 15 s left"]


def test_with_no_total_a_line_says_how_many_and_how_fast() -> None:
    shown, stream, time = progress(every=2.0)
    shown.start("reading commerce.raw.v1", None)

    time.advance(2.0)
    shown.advance(3000)

    assert lines(stream) == ["reading commerce.raw.v1: 3,000, 1,500/s"]


def test_finishing_a_phase_prints_its_last_line_once() -> None:
    shown, stream, time = progress(every=60.0)
    shown.start("replaying commerce.raw.v1", 10)
    time.advance(2.0)
    shown.advance(10)
    assert lines(stream) == []

    shown.finish()
    shown.finish()

    assert lines(stream) == ["replaying commerce.raw.v1: 10/10 (100 %), 5/s, about 0 s left"]


def test_starting_the_next_phase_ends_the_one_before() -> None:
    shown, stream, time = progress(every=60.0)
    shown.start("reading commerce.raw.v1", None)
    time.advance(1.0)
    shown.advance(7)

    shown.start("replaying commerce.raw.v1", 7)

    assert lines(stream) == ["reading commerce.raw.v1: 7, 7/s"]


def test_a_resumed_run_counts_what_was_done_before_but_not_in_its_rate() -> None:
    # 400 of 500 were put back before Ctrl-C; this run puts back 10 in 5 s: 2/s, 45 s left.
    shown, stream, time = progress(every=5.0)
    shown.start("replaying commerce.raw.v1", 500, done=400)

    time.advance(5.0)
    shown.advance(10)

    assert lines(stream) == ["replaying commerce.raw.v1: 410/500 (82 %), 2/s, about 45 s left"]
