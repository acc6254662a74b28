"""Each early warning fires when its reading passes its threshold and stays quiet below it; a
warning that holds is announced once and keeps the time it started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.contract.incidents import Severity
from streams.ops.early_warnings import (
    NAMES,
    EarlyWarning,
    Hourly,
    Readings,
    Thresholds,
    WarningBook,
    baseline,
    evaluate,
    measured,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(
    suppressions_floor=50,
    suppressions_factor=3.0,
    hard_bounces_floor=20,
    hard_bounces_factor=3.0,
    gate_refusals_per_hour=100,
    import_failure_rate=0.05,
    import_min_records=20,
    dead_letters_per_hour=20,
    consumer_lag=10_000,
    partition_stalled_after=600.0,
    sink_waiting_after=600.0,
    checkpoint_age=1800.0,
)

# For each warning: a reading just past its threshold, and one just short of it.
FIRING_AND_QUIET = {
    "suppressions_per_hour": (
        Readings(suppressions=Hourly(51)),
        Readings(suppressions=Hourly(50)),
    ),
    "hard_bounces_per_hour": (
        Readings(hard_bounces=Hourly(21)),
        Readings(hard_bounces=Hourly(20)),
    ),
    "gate_refusals": (
        Readings(gate_refusals={"1001": 3, "2002": 101}),
        Readings(gate_refusals={"1001": 100, "2002": 100}),
    ),
    "import_failure_rate": (
        Readings(import_records=100, import_failures=6),
        Readings(import_records=100, import_failures=5),
    ),
    "dead_letters_per_hour": (
        Readings(dead_letters={"invalid_email": 21}),
        Readings(dead_letters={"invalid_email": 20, "malformed_json": 20}),
    ),
    "consumer_lag": (
        Readings(lag={"commerce.orders.v1[0]": 10_001}),
        Readings(lag={"commerce.orders.v1[0]": 10_000}),
    ),
    "partition_stalled": (
        Readings(stalled={"dotdigital.writes.v1[3]": 600.0}),
        Readings(stalled={"dotdigital.writes.v1[3]": 599.0}),
    ),
    "sink_waiting": (Readings(sink_waiting=600.0), Readings(sink_waiting=599.0)),
    "poller_checkpoint_age": (
        Readings(checkpoint_age=1800.0),
        Readings(checkpoint_age=1799.0),
    ),
}


def names(readings: Readings) -> list[str]:
    return [warning.name for warning in evaluate(readings, LIMITS, NOW)]


def test_every_warning_has_a_case() -> None:
    assert set(FIRING_AND_QUIET) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_warning_fires_past_its_threshold(name: str) -> None:
    firing, _ = FIRING_AND_QUIET[name]

    [warning] = evaluate(firing, LIMITS, NOW)

    assert warning.name == name
    assert warning.value >= warning.threshold
    assert warning.severity in (Severity.WARNING, Severity.ERROR)
    # Said in words, with what to check.
    assert "check" in warning.message or "read" in warning.message


@pytest.mark.parametrize("name", NAMES)
def test_a_warning_stays_quiet_at_or_below_its_threshold(name: str) -> None:
    _, quiet = FIRING_AND_QUIET[name]

    assert names(quiet) == []


def test_nothing_fires_on_a_quiet_worker() -> None:
    assert names(Readings()) == []


def test_the_message_names_the_worst_program_reason_or_partition() -> None:
    [refusals] = evaluate(FIRING_AND_QUIET["gate_refusals"][0], LIMITS, NOW)
    [letters] = evaluate(
        Readings(dead_letters={"invalid_email": 30, "malformed_json": 25}), LIMITS, NOW
    )

    assert "program 2002" in refusals.message and refusals.value == 101
    assert "invalid_email" in letters.message and letters.value == 30


def test_suppressions_warn_above_three_times_the_usual_hour_not_below() -> None:
    usual = 40.0  # an hour, over the day before: the floor (50) is below 3 times 40

    assert baseline(Hourly(0, usual), 50, 3.0) == 120.0
    assert names(Readings(suppressions=Hourly(120, usual))) == []
    assert names(Readings(suppressions=Hourly(121, usual))) == ["suppressions_per_hour"]


def test_hard_bounces_never_warn_below_the_floor_however_quiet_the_usual_hour() -> None:
    assert names(Readings(hard_bounces=Hourly(20, 0.5))) == []
    assert names(Readings(hard_bounces=Hourly(21, 0.5))) == ["hard_bounces_per_hour"]


def test_a_high_failure_rate_on_too_few_imported_records_says_nothing() -> None:
    assert names(Readings(import_records=19, import_failures=19)) == []


def test_a_stall_and_a_wait_started_when_they_began_not_when_read() -> None:
    [stall, wait] = evaluate(
        Readings(stalled={"commerce.orders.v1[1]": 900.0}, sink_waiting=720.0), LIMITS, NOW
    )

    assert stall.since == NOW - timedelta(seconds=900)
    assert wait.since == NOW - timedelta(seconds=720)
    assert (stall.severity, wait.severity) == (Severity.ERROR, Severity.ERROR)


def test_measured_gives_every_reading_firing_or_not_but_an_unmeasured_feed() -> None:
    values = measured(Readings(dead_letters={"invalid_email": 3}, sink_waiting=None))

    assert values["dead_letters_per_hour"] == 3.0
    assert values["sink_waiting"] == 0.0
    assert "poller_checkpoint_age" not in values
    assert set(values) == set(NAMES) - {"poller_checkpoint_age"}


def warning(name: str, at: datetime, value: float = 30.0) -> EarlyWarning:
    return EarlyWarning(name, Severity.ERROR, "words", value, 20.0, at)


def test_a_warning_starts_once_and_keeps_its_start_while_it_holds() -> None:
    book = WarningBook()

    first = book.update([warning("dead_letters_per_hour", NOW)])
    later = book.update([warning("dead_letters_per_hour", NOW + timedelta(minutes=1), 45.0)])

    assert [w.name for w in first.started] == ["dead_letters_per_hour"]
    assert later.started == ()
    [held] = later.active
    assert (held.since, held.value) == (NOW, 45.0)


def test_a_warning_that_cleared_starts_anew_when_it_fires_again() -> None:
    book = WarningBook()
    book.update([warning("sink_waiting", NOW)])

    cleared = book.update([])
    again = book.update([warning("sink_waiting", NOW + timedelta(hours=1))])

    assert cleared.active == ()
    [restarted] = again.started
    assert restarted.since == NOW + timedelta(hours=1)
