"""A replay window by the event's own time: which records it holds, and where a record's time is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.replay.window import Window, normalized_event_time, raw_event_time

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=8)
WINDOW = Window(START, END)


def envelope(time: Any = None, **entity: Any) -> bytes:
    document: dict[str, Any] = {"type": "com.adobe.commerce.observer.sales_order_save_commit_after"}
    if time is not None:
        document["time"] = time
    document["data"] = {"value": entity}
    return orjson.dumps(document)


def test_the_window_holds_its_start_but_not_its_end() -> None:
    assert WINDOW.holds(START)
    assert WINDOW.holds(END - timedelta(microseconds=1))
    assert not WINDOW.holds(END)
    assert not WINDOW.holds(START - timedelta(microseconds=1))


def test_an_open_side_holds_everything_on_that_side() -> None:
    long_ago = datetime(1990, 1, 1, tzinfo=UTC)
    far_ahead = datetime(2990, 1, 1, tzinfo=UTC)

    assert Window(end=END).holds(long_ago)
    assert not Window(end=END).holds(END)
    assert Window(start=START).holds(far_ahead)
    assert not Window(start=START).holds(long_ago)
    assert Window().holds(long_ago) and Window().holds(far_ahead)


def test_a_record_with_no_time_is_never_in_any_window() -> None:
    assert not WINDOW.holds(None)
    assert not Window().holds(None)


def test_a_run_of_records_is_missed_only_when_it_lies_wholly_outside() -> None:
    before = START - timedelta(hours=1)
    after = END + timedelta(hours=1)

    assert WINDOW.misses(before - timedelta(hours=1), before)
    assert WINDOW.misses(END, after)  # the end is not in the window
    assert not WINDOW.misses(before, START)  # its last record is at the start: held
    assert not WINDOW.misses(before, after)  # spans the window
    assert not WINDOW.misses(START + timedelta(hours=1), START + timedelta(hours=2))
    assert not Window().misses(before, after)


def test_a_run_with_no_event_times_is_missed_since_none_of_it_can_be_selected() -> None:
    assert WINDOW.misses(None, None)
    assert Window().misses(None, START)
    assert Window().misses(START, None)


@given(
    st.datetimes(datetime(1970, 1, 1), datetime(2900, 1, 1), timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    st.lists(st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=10),
)
def test_a_run_said_missed_holds_no_record_of_the_window(
    start: datetime, width: timedelta, moments: list[datetime]
) -> None:
    # The index skips a run of records when `misses` says so: no record it held may be lost.
    window = Window(start, start + width)
    if window.misses(min(moments), max(moments)):
        assert not any(window.holds(moment) for moment in moments)


def test_a_raw_event_is_timed_by_its_envelope() -> None:
    value = envelope("2026-03-01T10:15:00.250Z", updated_at="2026-02-01 00:00:00")

    assert raw_event_time(value) == datetime(2026, 3, 1, 10, 15, 0, 250000, tzinfo=UTC)


def test_an_envelope_without_a_time_is_timed_by_its_entity_s_save() -> None:
    assert raw_event_time(envelope(updated_at="2026-03-01 10:15:00")) == datetime(
        2026, 3, 1, 10, 15, tzinfo=UTC
    )
    assert raw_event_time(envelope(created_at="2026-03-01 10:15:00")) == datetime(
        2026, 3, 1, 10, 15, tzinfo=UTC
    )
    assert raw_event_time(envelope("", updated_at="2026-03-01 10:15:00")) is not None


def test_zoned_times_are_read_in_utc_and_commerce_s_zoneless_dates_are_utc() -> None:
    assert raw_event_time(envelope("2026-03-01T11:15:00+01:00")) == datetime(
        2026, 3, 1, 10, 15, tzinfo=UTC
    )
    assert raw_event_time(envelope(updated_at="2026-03-01 10:15:00")) == datetime(
        2026, 3, 1, 10, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"2026-03-01T10:00:00Z"',
        b"{" * 5000,
        b"[" * 2000 + b"]" * 2000,
        envelope(),
        envelope(["2026-03-01T10:00:00Z"]),
        envelope("yesterday", updated_at="soon"),
        envelope("0000-00-00 00:00:00", updated_at="0000-00-00 00:00:00"),
        envelope("2026-03-01T10:00:00Z" + " " * 10_000),
        envelope("9" * 100_000),
        orjson.dumps({"data": "value"}),
        orjson.dumps({"data": {"value": ["updated_at"]}}),
        orjson.dumps({"data": {"value": {"updated_at": {"date": "2026-03-01"}}}}),
    ],
    ids=lambda value: repr(value[:30]),
)
def test_a_record_with_no_readable_time_has_none(value: bytes) -> None:
    assert raw_event_time(value) is None
    assert normalized_event_time(value) is None


@pytest.mark.parametrize(
    "time", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59-14:00"]
)
def test_a_time_off_the_calendar_once_in_utc_reads_as_none_rather_than_stopping_the_replay(
    time: str,
) -> None:
    # A replay reads every record of the topic; one hostile `time` must not end the read.
    assert raw_event_time(envelope(time)) is None
    assert raw_event_time(envelope(updated_at=time)) is None
    assert normalized_event_time(orjson.dumps({"updated_at": time})) is None


@given(st.binary(max_size=200))
def test_reading_a_time_never_raises(value: bytes) -> None:
    raw_event_time(value)
    normalized_event_time(value)


def test_a_normalized_order_is_timed_by_its_save_else_by_when_it_happened() -> None:
    order = {"updated_at": "2026-03-01T10:15:00Z", "occurred_at": "2026-03-02T00:00:00Z"}
    refund = {"occurred_at": "2026-03-02T00:00:00+00:00"}

    assert normalized_event_time(orjson.dumps(order)) == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert normalized_event_time(orjson.dumps(refund)) == datetime(2026, 3, 2, tzinfo=UTC)
    assert normalized_event_time(orjson.dumps({"email": "ada@example.com"})) is None
