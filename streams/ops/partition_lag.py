"""Consumer lag per partition, read from Faust's monitor when `/metrics` is scraped."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

Offsets = Mapping[Any, int]  # TP (topic, partition) → offset


def lag(end: int | None, committed: int | None) -> int | None:
    """Records on a partition not yet committed: its end (the next offset the broker will write)
    less the committed offset (the next one this group will read); unknown until both are."""
    if end is None or committed is None:
        return None
    return max(end - committed, 0)


class PartitionLag(Collector):
    """`cartwright_partition_end_offset`, `cartwright_partition_committed_offset` and
    `cartwright_consumer_lag` for every partition this worker holds, from `monitor` (Faust's
    sensor: the end offsets its fetches saw, the offsets it committed)."""

    def __init__(self, assignment: Any, monitor: Any) -> None:
        self._assignment = assignment
        self._monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["topic", "partition"]
        ends = GaugeMetricFamily(
            "cartwright_partition_end_offset",
            "The next offset the broker will write on a partition this worker holds.",
            labels=labels,
        )
        committed = GaugeMetricFamily(
            "cartwright_partition_committed_offset",
            "The next offset this worker's group will read on the partition (committed).",
            labels=labels,
        )
        lags = GaugeMetricFamily(
            "cartwright_consumer_lag",
            "Records on the partition not yet processed and committed (end less committed).",
            labels=labels,
        )
        end_offsets: Offsets = self._monitor.tp_end_offsets or {}
        committed_offsets: Offsets = self._monitor.tp_committed_offsets or {}
        for tp in sorted(self._assignment(), key=lambda tp: (tp.topic, tp.partition)):
            names = [tp.topic, str(tp.partition)]
            end, done = end_offsets.get(tp), committed_offsets.get(tp)
            if end is not None:
                ends.add_metric(names, end)
            if done is not None:
                committed.add_metric(names, done)
            behind = lag(end, done)
            if behind is not None:
                lags.add_metric(names, behind)
        yield ends
        yield committed
        yield lags
