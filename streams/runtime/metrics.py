"""What flowed through this worker: Prometheus series for `/metrics`, and the counts and recent
latencies `/ops/status` shows.

Every series lives in the worker's own prometheus-client registry (README, "Metrics", lists them):

- `cartwright_events_total{stage, outcome}`: what each stage took in, put out or set aside, from
  `add("normalize.events")` (stage `normalize`, outcome `events`);
- `cartwright_latency_seconds{step}`: histograms of the latencies observed by name
  (`observe("consent.propagation.commerce_to_dotdigital", s)`);
- `cartwright_dead_letters_total{reason, source_topic}` and `cartwright_exceptions_total{reason,
  severity}`: every dead letter and exception record this worker published;
- `cartwright_dotdigital_writes_total{lane, kind, answer}` and
  `cartwright_dotdigital_write_latency_seconds{lane}`: write commands settled by the sink, and
  the time from the join issuing one to Dotdigital accepting it.

`recent` counts what the early warnings read (streams/ops/early_warnings.py) over the last hour:
dead letters by reason, suppressions and hard bounces from the feed, gate refusals by program,
records imported and refused; `cartwright_suppression_feed_read_timestamp_seconds` is when the
leader last read the suppression feeds through.

The status page's percentiles are worked out over the most recent `window` observations, which a
Prometheus histogram (cumulative since start, in buckets) cannot give: they are what the last
thousand writes did, to the millisecond.
"""

from __future__ import annotations

import math
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Recent observations kept per latency: enough for a stable p95, small enough to sort per read.
WINDOW = 1_000
# Hours of history the early warnings' baselines average over (suppressions, bounces per hour).
BASELINE_HOURS = 24
# From a webhook's hop (milliseconds) to consent crossing over on the next poll (minutes).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


@dataclass
class Latency:
    """One latency: how many were observed in all, and the most recent `window` of them."""

    window: int = WINDOW
    count: int = 0
    recent: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("a latency window holds at least one observation")
        self.recent = deque(maxlen=self.window)

    def observe(self, seconds: float) -> None:
        if math.isnan(seconds):
            raise ValueError("a latency is a number of seconds, not NaN")
        self.count += 1
        self.recent.append(seconds)

    def summary(self) -> dict[str, float | int]:
        """`count` since start; `p50`, `p95` (nearest rank) and `max` over the window, in seconds."""
        ordered = sorted(self.recent)
        return {
            "count": self.count,
            "p50": round(nearest_rank(ordered, 50), 3),
            "p95": round(nearest_rank(ordered, 95), 3),
            "max": round(ordered[-1], 3),
        }


def nearest_rank(ordered: list[float], percent: float) -> float:
    """The smallest value with at least `percent` % of `ordered` (sorted, not empty) at or below."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


class Recent:
    """Counts by key in minute buckets over the last `hours` hours, for the early warnings: how
    many in the last hour, and the average per hour over the hours before it (hours before the
    worker started count as none). `clock()` is wall-clock seconds."""

    def __init__(self, hours: int = BASELINE_HOURS, clock: Callable[[], float] = time.time) -> None:
        self._hours = max(hours, 0)
        self._clock = clock
        self._buckets: dict[str, dict[int, int]] = {}

    def add(self, key: str, amount: int = 1, at: float | None = None) -> None:
        """`amount` more of `key`, counted at `at` (default now): a feed row counts when it
        happened, so the first read of an account's whole history is not an hour's surge."""
        now = int(self._clock() // 60)
        minute = now if at is None else min(int(at // 60), now)
        oldest = now - 60 * (self._hours + 1)
        if amount <= 0 or minute <= oldest:
            return
        buckets = self._buckets.setdefault(key, {})
        buckets[minute] = buckets.get(minute, 0) + amount
        for stale in [m for m in buckets if m <= oldest]:
            del buckets[stale]

    def last_hour(self, key: str) -> int:
        now = int(self._clock() // 60)
        return sum(n for m, n in self._buckets.get(key, {}).items() if m > now - 60)

    def average(self, key: str) -> float:
        """Per hour over the `hours` hours before the last one."""
        if self._hours == 0:
            return 0.0
        now = int(self._clock() // 60)
        older = now - 60 * (self._hours + 1)
        total = sum(n for m, n in self._buckets.get(key, {}).items() if older < m <= now - 60)
        return total / self._hours

    def by_prefix(self, prefix: str) -> dict[str, int]:
        """The last hour's count of every key `prefix…`, by the rest of the key (none left out
        when it is zero)."""
        counts = {
            key[len(prefix) :]: self.last_hour(key)
            for key in self._buckets
            if key.startswith(prefix)
        }
        return {key: count for key, count in counts.items() if count}


def stage_and_outcome(name: str) -> tuple[str, str]:
    """`normalize.events` → (`normalize`, `events`); a name without a stage is its own outcome."""
    stage, _, outcome = name.partition(".")
    return (stage, outcome) if outcome else ("worker", stage)


class Metrics:
    """Counters and latencies by name, kept as Prometheus series; read by `/ops/status` and
    `/metrics`."""

    def __init__(
        self,
        window: int = WINDOW,
        baseline_hours: int = BASELINE_HOURS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window < 1:
            raise ValueError("a latency window holds at least one observation")
        self.window = window
        self.started_at = time.time()
        self.registry = CollectorRegistry()
        self.latencies: dict[str, Latency] = {}
        # The sink's issue-to-acceptance latency per lane, recent window only: the status page's
        # p50/p95 per lane (the histogram above it is what Prometheus scrapes).
        self.write_latencies: dict[str, Latency] = {}
        self._events = Counter(
            "cartwright_events",
            "Records and events each stage took in, put out or set aside, by outcome.",
            ["stage", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "cartwright_latency_seconds",
            "Latencies observed along the pipeline, by step.",
            ["step"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._dead_letters = Counter(
            "cartwright_dead_letters",
            "Records dead-lettered, by reason and the topic they came from.",
            ["reason", "source_topic"],
            registry=self.registry,
        )
        self._exceptions = Counter(
            "cartwright_exceptions",
            "Exception records published, by reason and severity.",
            ["reason", "severity"],
            registry=self.registry,
        )
        self._writes = Counter(
            "cartwright_dotdigital_writes",
            "Write commands the sink settled, by lane, kind and Dotdigital's answer.",
            ["lane", "kind", "answer"],
            registry=self.registry,
        )
        self._received_latency = Histogram(
            "cartwright_webhook_to_dotdigital_seconds",
            "From Cartwright receiving an event (the raw record's time) to Dotdigital accepting "
            "a write it caused, by lane; replays are not counted.",
            ["lane"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._write_latency = Histogram(
            "cartwright_dotdigital_write_latency_seconds",
            "From the join issuing a write command to Dotdigital accepting it, by lane.",
            ["lane"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._feed_read = Gauge(
            "cartwright_suppression_feed_read_timestamp_seconds",
            "When the leader last read Dotdigital's suppression feeds through (Unix time).",
            registry=self.registry,
        )
        self.feed_read_at: float | None = None
        # What the early warnings read: counts in the last hour, by kind (`dead_letters:<reason>`).
        self.recent = Recent(baseline_hours, clock)
        # Names seen, each to its labelled child: a lookup per add, not a label parse.
        self._counted: dict[str, Counter] = {}

    def add(self, name: str, amount: int = 1) -> None:
        child = self._counted.get(name)
        if child is None:
            child = self._counted[name] = self._events.labels(*stage_and_outcome(name))
        child.inc(amount)

    def observe(self, name: str, seconds: float) -> None:
        """Record one latency (no clock is read: the caller measured it)."""
        latency = self.latencies.get(name) or Latency(self.window)
        latency.observe(seconds)  # refuses NaN before a new name is shown with nothing in it
        self.latencies[name] = latency
        self._latency.labels(name).observe(seconds)

    def dead_lettered(self, reason: str, source_topic: str) -> None:
        self._dead_letters.labels(reason, source_topic).inc()
        self.recent.add(f"dead_letters:{reason}")

    def suppressed(self, reason: str, at: float) -> None:
        """A suppression or unsubscribe Dotdigital's feed reported, `reason` in its words, `at`
        when it happened there (wall-clock seconds)."""
        self.recent.add("suppressions", at=at)
        if reason.lower() == "hardbounced":
            self.recent.add("hard_bounces", at=at)

    def gate_refused(self, program: str) -> None:
        """An enrolment into `program` held back by the consent gate."""
        self.recent.add(f"gate_refusals:{program}")

    def imported(self, records: int, failed: int) -> None:
        """An import to Dotdigital finished: `failed` of its `records` refused."""
        self.recent.add("import_records", records)
        self.recent.add("import_failures", failed)

    def feed_read(self, at: float) -> None:
        """The suppression feeds were read through, at `at` (wall-clock seconds)."""
        self.feed_read_at = at
        self._feed_read.set(at)

    def excepted(self, reason: str, severity: str) -> None:
        self._exceptions.labels(reason, severity).inc()

    def wrote(self, lane: str, kind: str, answer: str, amount: int = 1) -> None:
        """`amount` write commands of `kind` settled on `lane` with `answer` (accepted, …)."""
        self._writes.labels(lane, kind, answer).inc(amount)

    def received_to_accepted(self, lane: str, seconds: float) -> None:
        """From the webhook's receipt of an event to Dotdigital accepting a write it caused."""
        self._received_latency.labels(lane).observe(max(seconds, 0.0))

    def write_accepted_after(self, lane: str, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.write_latencies.setdefault(lane, Latency(self.window)).observe(seconds)
        self._write_latency.labels(lane).observe(seconds)

    @property
    def counts(self) -> Tally[str]:
        """Every `add`ed name and its total, as `/ops/status` shows them."""
        names = {stage_and_outcome(name): name for name in self._counted}
        return Tally(
            {
                names[sample.labels["stage"], sample.labels["outcome"]]: int(sample.value)
                for family in self._events.collect()
                for sample in family.samples
                if sample.name == "cartwright_events_total"
            }
        )

    def exposition(self) -> bytes:
        """Every series in the Prometheus text format."""
        return generate_latest(self.registry)

    def snapshot(self) -> dict[str, object]:
        return {
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "counts": dict(sorted(self.counts.items())),
            "latencies": {
                name: latency.summary() for name, latency in sorted(self.latencies.items())
            },
            "write_latencies": {
                lane: latency.summary() for lane, latency in sorted(self.write_latencies.items())
            },
        }
