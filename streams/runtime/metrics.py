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

The status page's percentiles are worked out over the most recent `window` observations, which a
Prometheus histogram (cumulative since start, in buckets) cannot give: they are what the last
thousand writes did, to the millisecond.
"""

from __future__ import annotations

import math
import time
from collections import Counter as Tally
from collections import deque
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

# Recent observations kept per latency: enough for a stable p95, small enough to sort per read.
WINDOW = 1_000
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


def stage_and_outcome(name: str) -> tuple[str, str]:
    """`normalize.events` → (`normalize`, `events`); a name without a stage is its own outcome."""
    stage, _, outcome = name.partition(".")
    return (stage, outcome) if outcome else ("worker", stage)


class Metrics:
    """Counters and latencies by name, kept as Prometheus series; read by `/ops/status` and
    `/metrics`."""

    def __init__(self, window: int = WINDOW) -> None:
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
