"""Consumer lag per partition, read from Faust's monitor when `/metrics` is scraped, and by stage
for the status page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from faust.exceptions import ConsumerNotStarted
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.contract import topics

Offsets = Mapping[Any, int]  # TP (topic, partition) → offset


def assigned(app: Any) -> set[Any]:
    """The partitions this worker holds: none while its consumer is still starting (Faust raises
    then, and a page or scrape that early must answer, not fail)."""
    try:
        return set(app.consumer.assignment())
    except ConsumerNotStarted:
        return set()


def leads(app: Any) -> bool:
    """Whether this worker is the group's leader (not while its consumer is still starting)."""
    try:
        return bool(app.is_leader())
    except ConsumerNotStarted:
        return False


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


# Which stage reads each topic, in the order the data flows; the status page sums lag by stage.
# `commerce.orders.v1` also feeds carts and browse, but the group commits one offset per
# partition, so its lag is the join's (the first of its readers an order waits for).
STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("normalize", frozenset({topics.RAW})),
    ("storefront", frozenset({topics.STOREFRONT_RAW, topics.STOREFRONT_CARTS})),
    (
        "join",
        frozenset(
            {
                topics.ORDERS,
                topics.CUSTOMERS,
                topics.REFUNDS,
                topics.IDENTITY,
                topics.CONSENT_OBSERVED,
            }
        ),
    ),
    ("carts", frozenset({topics.CARTS, topics.TICKS})),
    ("browse", frozenset({topics.STOREFRONT_EVENTS, topics.STOREFRONT_CLAIMS})),
    ("sink: batch lane", frozenset({topics.WRITES})),
    ("sink: realtime lane", frozenset({topics.WRITES_REALTIME})),
    ("Commerce write-back", frozenset({topics.COMMERCE_WRITES})),
)
_STAGE_OF = {topic: stage for stage, names in STAGES for topic in names}
# Held, but read by no agent: changelogs are read only to recover a table, and the group
# commits nothing on them; Faust's leader topic carries nothing. Their lag means nothing.
NOT_STAGES = frozenset({"tables", "leader election"})


def stage_of(topic: str) -> str:
    """The stage reading `topic`; a table's changelog is `tables`, an unknown topic its name."""
    if topic in _STAGE_OF:
        return _STAGE_OF[topic]
    if topic.endswith("-changelog"):
        return "tables"
    # Faust's own topic for electing the leader (`<app id>-__assignor-__leader`).
    return "leader election" if topic.endswith("__assignor-__leader") else topic


@dataclass(frozen=True)
class Stalled:
    """A partition with records waiting whose committed offset has not moved for `still_for`
    seconds (as far as the page's reads saw: since the first read that found it so)."""

    topic: str
    partition: int
    lag: int
    still_for: float


@dataclass(frozen=True)
class StageLag:
    """One stage's partitions: records waiting over all of them, and how many are known."""

    stage: str
    topics: tuple[str, ...]
    partitions: int
    lag: int
    unknown: int


class LagWatch:
    """Lag per stage (the topics agents read), and which waiting partition has gone longest
    without a commit: a backlog
    that moves is load, one that does not is a stuck agent. Remembers, per partition, the
    committed offset last read and since when (`clock()`, seconds) it has not changed."""

    def __init__(self, assignment: Any, monitor: Any, clock: Callable[[], float]) -> None:
        self._assignment = assignment
        self._monitor = monitor
        self._clock = clock
        self._seen: dict[tuple[str, int], tuple[int | None, float]] = {}

    def read(self) -> tuple[list[StageLag], Stalled | None]:
        now = self._clock()
        end_offsets: Offsets = self._monitor.tp_end_offsets or {}
        committed_offsets: Offsets = self._monitor.tp_committed_offsets or {}
        by_stage: dict[str, list[tuple[str, int | None]]] = {}
        stalled: Stalled | None = None
        seen: dict[tuple[str, int], tuple[int | None, float]] = {}
        for tp in sorted(self._assignment(), key=lambda tp: (tp.topic, tp.partition)):
            if stage_of(tp.topic) in NOT_STAGES:
                continue
            done = committed_offsets.get(tp)
            before = self._seen.get((tp.topic, tp.partition))
            since = before[1] if before is not None and before[0] == done else now
            seen[tp.topic, tp.partition] = (done, since)
            behind = lag(end_offsets.get(tp), done)
            by_stage.setdefault(stage_of(tp.topic), []).append((tp.topic, behind))
            if behind and (stalled is None or now - since > stalled.still_for):
                stalled = Stalled(tp.topic, tp.partition, behind, now - since)
        self._seen = seen  # partitions given away are forgotten
        order = [stage for stage, _ in STAGES]
        stages = [
            StageLag(
                stage=stage,
                topics=tuple(sorted({topic for topic, _ in held})),
                partitions=len(held),
                lag=sum(behind or 0 for _, behind in held),
                unknown=sum(behind is None for _, behind in held),
            )
            for stage, held in sorted(
                by_stage.items(),
                key=lambda item: (
                    order.index(item[0]) if item[0] in order else len(order),
                    item[0],
                ),
            )
        ]
        return stages, stalled
