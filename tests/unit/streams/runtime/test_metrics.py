"""Counters and latency windows as `/ops/status` shows them."""

from __future__ import annotations

import json
import math

import pytest

from streams.runtime.metrics import Metrics, nearest_rank


def latencies(metrics: Metrics) -> object:
    return metrics.snapshot()["latencies"]


def test_a_latency_nobody_observed_is_not_shown() -> None:
    metrics = Metrics()
    metrics.add("raw.published")

    assert latencies(metrics) == {}


def test_one_observation_is_its_own_p50_p95_and_max() -> None:
    metrics = Metrics()

    metrics.observe("propagation", 2.5)

    assert latencies(metrics) == {"propagation": {"count": 1, "p50": 2.5, "p95": 2.5, "max": 2.5}}


def test_percentiles_are_nearest_rank_over_the_observations() -> None:
    metrics = Metrics()

    for seconds in range(100, 0, -1):  # 1..100 s, in reverse so order cannot matter
        metrics.observe("propagation", float(seconds))

    assert latencies(metrics) == {
        "propagation": {"count": 100, "p50": 50.0, "p95": 95.0, "max": 100.0}
    }


def test_nearest_rank_rounds_the_rank_up() -> None:
    ordered = [1.0, 2.0, 3.0]

    assert [nearest_rank(ordered, p) for p in (0, 33, 34, 50, 67, 95, 100)] == [
        1.0,
        1.0,
        2.0,
        2.0,
        3.0,
        3.0,
        3.0,
    ]


def test_the_window_keeps_the_most_recent_observations_and_the_count_keeps_all() -> None:
    metrics = Metrics(window=3)

    for seconds in (90.0, 80.0, 1.0, 2.0, 3.0):
        metrics.observe("propagation", seconds)

    assert latencies(metrics) == {"propagation": {"count": 5, "p50": 2.0, "p95": 3.0, "max": 3.0}}


def test_the_default_window_holds_the_last_thousand() -> None:
    metrics = Metrics()

    for seconds in [500.0] * 10 + [1.0] * 1000:
        metrics.observe("propagation", seconds)

    assert latencies(metrics) == {
        "propagation": {"count": 1010, "p50": 1.0, "p95": 1.0, "max": 1.0}
    }


def test_each_name_has_its_own_window_and_names_are_sorted() -> None:
    metrics = Metrics()

    metrics.observe("b", 4.0)
    metrics.observe("a", 1.0)
    metrics.observe("b", 6.0)

    shown = latencies(metrics)
    assert shown == {
        "a": {"count": 1, "p50": 1.0, "p95": 1.0, "max": 1.0},
        "b": {"count": 2, "p50": 4.0, "p95": 6.0, "max": 6.0},
    }
    assert isinstance(shown, dict) and list(shown) == ["a", "b"]


def test_seconds_are_rounded_to_the_millisecond() -> None:
    metrics = Metrics()

    metrics.observe("propagation", 0.12345)
    metrics.observe("propagation", 1.0006)

    assert latencies(metrics) == {
        "propagation": {"count": 2, "p50": 0.123, "p95": 1.001, "max": 1.001}
    }


def test_a_nan_is_refused_before_it_spoils_the_window() -> None:
    metrics = Metrics()

    with pytest.raises(ValueError, match="NaN"):
        metrics.observe("propagation", math.nan)

    assert latencies(metrics) == {}


def test_a_window_must_hold_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Metrics(window=0)


def test_the_snapshot_is_plain_json_with_counts_beside_latencies() -> None:
    metrics = Metrics()
    metrics.add("consent.commerce_writes", 2)
    metrics.observe("consent.propagation.dotdigital_to_commerce", 3.25)

    shown = json.loads(json.dumps(metrics.snapshot()))

    assert shown["counts"] == {"consent.commerce_writes": 2}
    assert shown["latencies"] == {
        "consent.propagation.dotdigital_to_commerce": {
            "count": 1,
            "p50": 3.25,
            "p95": 3.25,
            "max": 3.25,
        }
    }
    assert shown["uptime_seconds"] >= 0


def test_the_last_hour_counts_what_came_in_it_and_the_usual_hour_what_came_before() -> None:
    now = [100_000 * 3600.0]
    metrics = Metrics(baseline_hours=24, clock=lambda: now[0])
    recent = metrics.recent
    for hours_ago in (30, 20, 10):  # one a day ago and more: out of the baseline
        recent.add("suppressions", 12, at=now[0] - hours_ago * 3600)
    recent.add("suppressions", 5)
    metrics.dead_lettered("invalid_email", "commerce.raw.v1")

    assert recent.last_hour("suppressions") == 5
    assert recent.average("suppressions") == 24 / 24
    assert recent.by_prefix("dead_letters:") == {"invalid_email": 1}

    now[0] += 3600
    assert recent.last_hour("suppressions") == 0
    assert recent.by_prefix("dead_letters:") == {}
    assert recent.average("suppressions") == (12 + 12 + 5) / 24
