"""Raising the early warnings on a worker: read what it saw, evaluate the rules every interval,
announce a warning once when it starts (an exception record), keep a gauge of each, and hand the
ones that hold to the status page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from schemas.contract.incidents import Reason
from streams.ops.early_warnings import (
    NAMES,
    EarlyWarning,
    Hourly,
    Readings,
    Round,
    Thresholds,
    WarningBook,
    evaluate,
    measured,
)
from streams.ops.partition_lag import NOT_STAGES, LagWatch, assigned, lag, stage_of
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import Waiting
from streams.settings import WarningsSettings

log = logging.getLogger(__name__)


def thresholds(settings: WarningsSettings) -> Thresholds:
    """The rules' thresholds, from the settings of the same names."""
    return Thresholds(**{name: getattr(settings, name) for name in Thresholds.__dataclass_fields__})


class Sensors:
    """Where a worker's readings come from: its metrics (counts in the last hour, when the
    suppression feeds were last read), the sink's retries, and its partitions (Faust's monitor).

    The feed is read by the leader only: elsewhere its age is not measured, and on the leader
    it counts from when this worker last became leader, if it has not read the feed since.
    """

    def __init__(
        self,
        metrics: Metrics,
        waiting: Waiting,
        app: Any,
        *,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
    ) -> None:
        self._metrics = metrics
        self._waiting = waiting
        self._app = app
        self._clock = clock
        self._lags = LagWatch(lambda: assigned(app), app.monitor, monotonic)
        self._leader_since: float | None = None

    def read(self) -> Readings:
        recent = self._metrics.recent
        imports = recent.last_hour("import_records")
        _, stalled = self._lags.read()
        return Readings(
            suppressions=Hourly(recent.last_hour("suppressions"), recent.average("suppressions")),
            hard_bounces=Hourly(recent.last_hour("hard_bounces"), recent.average("hard_bounces")),
            gate_refusals=recent.by_prefix("gate_refusals:"),
            import_records=imports,
            import_failures=recent.last_hour("import_failures"),
            dead_letters=recent.by_prefix("dead_letters:"),
            lag=self._partition_lag(),
            stalled=(
                {f"{stalled.topic}[{stalled.partition}]": stalled.still_for} if stalled else {}
            ),
            sink_waiting=self._waiting.longest(),
            checkpoint_age=self._checkpoint_age(),
        )

    def _partition_lag(self) -> dict[str, int]:
        monitor = self._app.monitor
        ends = monitor.tp_end_offsets or {}
        done = monitor.tp_committed_offsets or {}
        found: dict[str, int] = {}
        for tp in assigned(self._app):
            if stage_of(tp.topic) in NOT_STAGES:
                continue
            behind = lag(ends.get(tp), done.get(tp))
            if behind:
                found[f"{tp.topic}[{tp.partition}]"] = behind
        return found

    def _checkpoint_age(self) -> float | None:
        now = self._clock()
        if not self._app.is_leader():
            self._leader_since = None
            return None
        if self._leader_since is None:
            self._leader_since = now
        read_at = self._metrics.feed_read_at
        since = self._leader_since if read_at is None else max(read_at, self._leader_since)
        return max(now - since, 0.0)


class WarningWatch:
    """Evaluates `read()` against `thresholds` each round; a warning that starts is published
    once on the exceptions topic (reason `early_warning`, subject `warning <name>`), and again
    only after it cleared and started anew. `cartwright_warning_active{name}` (1/0) and
    `cartwright_warning_value{name}` (the reading) follow every round."""

    def __init__(
        self,
        read: Callable[[], Readings],
        limits: Thresholds,
        incidents: Incidents,
        metrics: Metrics,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._read = read
        self._limits = limits
        self._incidents = incidents
        self._now = now
        self._metrics = metrics
        self._book = WarningBook()
        self._active_gauge = Gauge(
            "cartwright_warning_active",
            "1 while the early warning holds, else 0 (README, Early warnings).",
            ["name"],
            registry=metrics.registry,
        )
        self._value_gauge = Gauge(
            "cartwright_warning_value",
            "What the early warning measures, as of the latest evaluation.",
            ["name"],
            registry=metrics.registry,
        )
        for name in NAMES:
            self._active_gauge.labels(name).set(0)

    async def round(self) -> Round:
        """One evaluation: publish what started, set the gauges, remember what holds."""
        readings = self._read()
        outcome = self._book.update(evaluate(readings, self._limits, self._now()))
        for warning in outcome.started:
            await self._announce(warning)
        holding = {warning.name for warning in self._book.active}
        for name in NAMES:
            self._active_gauge.labels(name).set(1 if name in holding else 0)
        for name, value in measured(readings).items():
            self._value_gauge.labels(name).set(value)
        # Rounds evaluated: what tells a reader that a warning holding was not announced again.
        self._metrics.add("warnings.evaluated")
        return outcome

    async def active(self) -> list[EarlyWarning]:
        """What holds, for the status page, the most severe first."""
        return sorted(self._book.active, key=lambda w: (w.severity != "error", w.since))

    async def _announce(self, warning: EarlyWarning) -> None:
        log.warning("early warning %s: %s", warning.name, warning.message)
        try:
            await self._incidents.report(
                reason=Reason.EARLY_WARNING,
                message=f"{warning.message} (reading {warning.value:g}, threshold "
                f"{warning.threshold:g})",
                subject=f"warning {warning.name}",
                severity=warning.severity,
            )
        except (KafkaError, TimeoutError) as exc:
            # Not announced: forgotten, so the next round announces it, once the broker takes it.
            self._book.forget(warning.name)
            log.warning("early warning %s not published: %s", warning.name, type(exc).__name__)


def register(app: Any, watch: WarningWatch, interval: float) -> None:
    """Evaluate the warnings every `interval` seconds on every worker (each reads its own
    partitions and counts; the leader alone reads the suppression feed)."""

    async def every_interval() -> None:
        while True:
            await asyncio.sleep(interval)
            await watch.round()

    app.task(every_interval)
