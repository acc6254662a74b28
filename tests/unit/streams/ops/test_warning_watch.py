"""A worker's early warnings: read from what it counted and waits on, announced once on the
exceptions topic when they start, shown by gauges and on the status page while they hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaConnectionError
from faust.types import TP

from schemas.contract.incidents import Reason, Severity, SyncException
from schemas.contract.topics import ORDERS, WRITES
from streams.ops.early_warnings import Readings, Thresholds
from streams.ops.warning_watch import Sensors, WarningWatch, thresholds
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import Waiting
from streams.settings import Settings
from tests.support.faketime import FakeTime
from tests.support.topic import RecordingTopic

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(dead_letters_per_hour=2, sink_waiting_after=60.0, checkpoint_age=120.0)


class Monitor:
    def __init__(self) -> None:
        self.tp_end_offsets: dict[TP, int] = {}
        self.tp_committed_offsets: dict[TP, int] = {}


class Consumer:
    def __init__(self, *held: TP) -> None:
        self.held = set(held)

    def assignment(self) -> set[TP]:
        return self.held


class App:
    """What the sensors read of a Faust app: its partitions, their offsets, its leadership."""

    def __init__(self, *held: TP, leader: bool = False) -> None:
        self.consumer = Consumer(*held)
        self.monitor = Monitor()
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


def watching(
    readings: list[Readings], limits: Thresholds = LIMITS
) -> tuple[WarningWatch, RecordingTopic, Metrics, list[datetime]]:
    """A watch reading the last of `readings` each round, at the last of `now`."""
    exceptions, metrics, now = RecordingTopic(), Metrics(), [AT]
    incidents = Incidents(RecordingTopic(), exceptions, metrics)
    watch = WarningWatch(lambda: readings[-1], limits, incidents, metrics, now=lambda: now[-1])
    return watch, exceptions, metrics, now


def announced(topic: RecordingTopic) -> list[SyncException]:
    return [SyncException.model_validate_json(value) for _, value in topic.sent]


def gauge(metrics: Metrics, family: str, name: str) -> float | None:
    return metrics.registry.get_sample_value(family, {"name": name})


async def test_a_warning_is_announced_once_while_it_holds_and_again_after_it_cleared() -> None:
    readings = [Readings(dead_letters={"invalid_email": 3})]
    watch, exceptions, metrics, now = watching(readings)

    await watch.round()
    now.append(AT + timedelta(minutes=1))
    await watch.round()

    assert metrics.counts["warnings.evaluated"] == 2
    [record] = announced(exceptions)
    assert record.reason is Reason.EARLY_WARNING
    assert record.subject == "warning dead_letters_per_hour"
    assert record.severity is Severity.ERROR
    assert "invalid_email" in record.message and "threshold 2" in record.message
    assert gauge(metrics, "cartwright_warning_active", "dead_letters_per_hour") == 1
    assert gauge(metrics, "cartwright_warning_value", "dead_letters_per_hour") == 3
    [shown] = await watch.active()
    assert shown.since == AT

    readings.append(Readings())
    await watch.round()
    assert gauge(metrics, "cartwright_warning_active", "dead_letters_per_hour") == 0
    assert await watch.active() == []

    readings.append(Readings(dead_letters={"invalid_email": 5}))
    await watch.round()
    assert [r.subject for r in announced(exceptions)] == ["warning dead_letters_per_hour"] * 2


async def test_a_quiet_worker_announces_nothing_and_every_gauge_says_so() -> None:
    watch, exceptions, metrics, _ = watching([Readings()])

    await watch.round()

    assert exceptions.sent == []
    assert gauge(metrics, "cartwright_warning_active", "consumer_lag") == 0
    assert gauge(metrics, "cartwright_warning_active", "poller_checkpoint_age") == 0
    assert gauge(metrics, "cartwright_warning_value", "sink_waiting") == 0
    # The feed is read by the leader only: elsewhere its age is not a reading.
    assert gauge(metrics, "cartwright_warning_value", "poller_checkpoint_age") is None


class BrokerDownOnce(RecordingTopic):
    """A topic whose first send fails as an unreachable broker's does; the rest are taken."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def send(self, **kwargs: Any) -> Any:
        if not self.refused:
            self.refused += 1
            raise KafkaConnectionError("no broker")
        return await super().send(**kwargs)


async def test_a_warning_the_broker_did_not_take_is_announced_on_the_next_round() -> None:
    metrics, topic = Metrics(), BrokerDownOnce()
    readings = Readings(sink_waiting=90.0)
    watch = WarningWatch(
        lambda: readings, LIMITS, Incidents(RecordingTopic(), topic, metrics), metrics
    )
    await watch.round()
    await watch.round()
    await watch.round()

    assert topic.refused == 1
    assert [r.subject for r in announced(topic)] == ["warning sink_waiting"]


def test_sensors_read_the_hour_s_counts_the_sink_s_wait_and_a_stalled_partition() -> None:
    time = FakeTime()
    metrics, waiting = Metrics(clock=time.wall_clock), Waiting(clock=time.clock)
    app = App(TP(WRITES, 0), TP(ORDERS, 1))
    app.monitor.tp_end_offsets = {TP(WRITES, 0): 500, TP(ORDERS, 1): 7}
    app.monitor.tp_committed_offsets = {TP(WRITES, 0): 100, TP(ORDERS, 1): 7}
    sensors = Sensors(metrics, waiting, app, clock=time.wall_clock, monotonic=time.clock)

    for _ in range(3):
        metrics.dead_lettered("invalid_email", "commerce.raw.v1")
    metrics.gate_refused("1001")
    metrics.imported(40, 4)
    metrics.suppressed("HardBounced", time.wall_clock() - 120)
    ticket = waiting.began()
    sensors.read()
    time.advance(700)
    readings = sensors.read()

    assert readings.dead_letters == {"invalid_email": 3}
    assert readings.gate_refusals == {"1001": 1}
    assert (readings.import_records, readings.import_failures) == (40, 4)
    assert readings.suppressions.last_hour == readings.hard_bounces.last_hour == 1
    assert readings.lag == {f"{WRITES}[0]": 400}
    assert readings.stalled == {f"{WRITES}[0]": 700.0}
    assert readings.sink_waiting == 700.0
    assert readings.checkpoint_age is None  # not the leader

    waiting.settled(ticket)
    time.advance(3600)
    later = sensors.read()
    assert later.sink_waiting is None
    assert later.dead_letters == {} and later.import_records == 0


def test_the_leader_s_feed_ages_from_its_last_read_or_from_becoming_leader() -> None:
    time, metrics = FakeTime(), Metrics()
    app = App(leader=True)
    sensors = Sensors(metrics, Waiting(), app, clock=time.wall_clock, monotonic=time.clock)

    assert sensors.read().checkpoint_age == 0.0
    time.advance(300)
    assert sensors.read().checkpoint_age == 300.0  # never read since it leads
    metrics.feed_read(time.wall_clock())
    time.advance(30)
    assert sensors.read().checkpoint_age == 30.0

    app.leader = False
    assert sensors.read().checkpoint_age is None


def test_the_thresholds_come_from_the_settings(monkeypatch: Any) -> None:
    monkeypatch.setenv("CARTWRIGHT_WARNINGS__DEAD_LETTERS_PER_HOUR", "3")
    monkeypatch.setenv("CARTWRIGHT_WARNINGS__SINK_WAITING_AFTER", "5")

    limits = thresholds(Settings().warnings)

    assert (limits.dead_letters_per_hour, limits.sink_waiting_after) == (3, 5.0)
    assert limits.consumer_lag == Thresholds().consumer_lag
