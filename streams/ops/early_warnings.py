"""Early warnings: a reading past its threshold, before it reaches a campaign.

Pure rules, no I/O: `evaluate(readings, thresholds, now)` says which warnings hold now, and a
`WarningBook` remembers since when each has held, so a warning is announced once when it starts,
not every round while it lasts, and again only after it cleared and fired anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from schemas.contract.incidents import Severity

# Every warning's stable name, in the order the README's table lists them.
NAMES = (
    "suppressions_per_hour",
    "hard_bounces_per_hour",
    "gate_refusals",
    "import_failure_rate",
    "dead_letters_per_hour",
    "consumer_lag",
    "partition_stalled",
    "sink_waiting",
    "poller_checkpoint_age",
)


@dataclass(frozen=True)
class EarlyWarning:
    """`name` is the warning's stable code (e.g. `consumer_lag`); `message` says it in words."""

    name: str
    severity: Severity
    message: str
    value: float
    threshold: float
    since: datetime


@dataclass(frozen=True)
class Hourly:
    """A count over the last hour, and the average per hour over the hours before it."""

    last_hour: int = 0
    average: float = 0.0


@dataclass(frozen=True)
class Readings:
    """What the worker saw, as of one evaluation. Counts are over the last hour; durations are in
    seconds; None: not measured on this worker (the suppression feed is polled by the leader)."""

    suppressions: Hourly = Hourly()
    hard_bounces: Hourly = Hourly()
    gate_refusals: Mapping[str, int] = field(default_factory=dict)  # program → refusals
    import_records: int = 0
    import_failures: int = 0
    dead_letters: Mapping[str, int] = field(default_factory=dict)  # reason → dead letters
    lag: Mapping[str, int] = field(default_factory=dict)  # "topic[partition]" → records waiting
    stalled: Mapping[str, float] = field(default_factory=dict)  # waiting partition → still for
    sink_waiting: float | None = None
    checkpoint_age: float | None = None


@dataclass(frozen=True)
class Thresholds:
    """Where each reading turns into a warning (the settings' `CARTWRIGHT_WARNINGS__…`)."""

    suppressions_floor: int = 50
    suppressions_factor: float = 3.0
    hard_bounces_floor: int = 20
    hard_bounces_factor: float = 3.0
    gate_refusals_per_hour: int = 100
    import_failure_rate: float = 0.05
    import_min_records: int = 20
    dead_letters_per_hour: int = 20
    consumer_lag: int = 10_000
    partition_stalled_after: float = 600.0
    sink_waiting_after: float = 600.0
    checkpoint_age: float = 1800.0


def baseline(hourly: Hourly, floor: int, factor: float) -> float:
    """A count per hour is unusual above the larger of the floor and `factor` times the average of
    the hours before: a steady trickle never warns, a jump over the usual does."""
    return max(float(floor), factor * hourly.average)


def measured(readings: Readings) -> dict[str, float]:
    """What each warning compares with its threshold, firing or not (the worst program, reason
    or partition where there are several); a reading this worker does not take is left out."""
    records = readings.import_records
    values: dict[str, float | None] = {
        "suppressions_per_hour": readings.suppressions.last_hour,
        "hard_bounces_per_hour": readings.hard_bounces.last_hour,
        "gate_refusals": max(readings.gate_refusals.values(), default=0),
        "import_failure_rate": readings.import_failures / records if records else 0.0,
        "dead_letters_per_hour": max(readings.dead_letters.values(), default=0),
        "consumer_lag": max(readings.lag.values(), default=0),
        "partition_stalled": max(readings.stalled.values(), default=0.0),
        "sink_waiting": readings.sink_waiting or 0.0,
        "poller_checkpoint_age": readings.checkpoint_age,
    }
    return {name: float(value) for name, value in values.items() if value is not None}


def _worst(values: Mapping[str, float]) -> tuple[str, float] | None:
    if not values:
        return None
    key = max(values, key=lambda name: (values[name], name))
    return key, values[key]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def evaluate(readings: Readings, thresholds: Thresholds, now: datetime) -> list[EarlyWarning]:
    """The warnings that hold for `readings`; each says what it means and what to check. A
    count fires when it exceeds its threshold, a duration when it reaches it."""
    found: list[EarlyWarning] = []

    def warn(
        name: str, severity: Severity, message: str, value: float, limit: float, held: float = 0
    ) -> None:
        found.append(
            EarlyWarning(name, severity, message, value, limit, now - timedelta(seconds=held))
        )

    for name, hourly, floor, factor, what in (
        (
            "suppressions_per_hour",
            readings.suppressions,
            thresholds.suppressions_floor,
            thresholds.suppressions_factor,
            "contacts were suppressed or unsubscribed in Dotdigital",
        ),
        (
            "hard_bounces_per_hour",
            readings.hard_bounces,
            thresholds.hard_bounces_floor,
            thresholds.hard_bounces_factor,
            "contacts hard-bounced in Dotdigital",
        ),
    ):
        limit = baseline(hourly, floor, factor)
        if hourly.last_hour > limit:
            warn(
                name,
                Severity.WARNING,
                f"{hourly.last_hour} {what} in the last hour, above the usual "
                f"({hourly.average:.1f} an hour): check the latest send's list and content, and "
                "whether addresses imported recently are valid; sender reputation suffers.",
                hourly.last_hour,
                limit,
            )
    if worst := _worst(readings.gate_refusals):
        program, count = worst
        if count > thresholds.gate_refusals_per_hour:
            warn(
                "gate_refusals",
                Severity.WARNING,
                f"{count:.0f} enrolments into program {program} were held back in the last hour "
                "because the contacts opted out: check the program's audience, or whether "
                "consent data arrived wrong (a bulk unsubscribe, a misread newsletter field).",
                count,
                thresholds.gate_refusals_per_hour,
            )
    if readings.import_records >= thresholds.import_min_records:
        rate = readings.import_failures / readings.import_records
        if rate > thresholds.import_failure_rate:
            warn(
                "import_failure_rate",
                Severity.ERROR,
                f"Dotdigital refused {readings.import_failures} of {readings.import_records} "
                f"records imported in the last hour ({rate:.0%}): orders or contacts are missing "
                "from segments; read the dotdigital_rejected exceptions for the cause.",
                round(rate, 4),
                thresholds.import_failure_rate,
            )
    if worst := _worst(readings.dead_letters):
        reason, count = worst
        if count > thresholds.dead_letters_per_hour:
            warn(
                "dead_letters_per_hour",
                Severity.ERROR,
                f"{count:.0f} records were set aside ({reason}) in the last hour: they are not "
                "in Dotdigital; read the exceptions list for which ones, fix the cause, and "
                "replay them from the dead-letter topic.",
                count,
                thresholds.dead_letters_per_hour,
            )
    if worst := _worst(readings.lag):
        partition, behind = worst
        if behind > thresholds.consumer_lag:
            warn(
                "consumer_lag",
                Severity.WARNING,
                f"{behind:.0f} records wait on {partition}: Dotdigital gets changes late "
                "(carts, consent, orders); check the worker's load, the sink's rate limit, and "
                "whether to add workers.",
                behind,
                thresholds.consumer_lag,
            )
    if worst := _worst(readings.stalled):
        partition, still = worst
        if still >= thresholds.partition_stalled_after:
            warn(
                "partition_stalled",
                Severity.ERROR,
                f"{partition} has records waiting and has not moved for {_minutes(still)}: "
                "nothing on it reaches Dotdigital; check the worker's log for a stuck agent and "
                "the status page for a Dotdigital outage, then restart the worker.",
                round(still, 1),
                thresholds.partition_stalled_after,
                still,
            )
    waiting = readings.sink_waiting
    if waiting is not None and waiting >= thresholds.sink_waiting_after:
        warn(
            "sink_waiting",
            Severity.ERROR,
            f"The sink has been retrying a Dotdigital call for {_minutes(waiting)}: writes wait, "
            "nothing is lost; check Dotdigital's status page and the API user's credentials.",
            round(waiting, 1),
            thresholds.sink_waiting_after,
            waiting,
        )
    age = readings.checkpoint_age
    if age is not None and age >= thresholds.checkpoint_age:
        warn(
            "poller_checkpoint_age",
            Severity.ERROR,
            f"Dotdigital's suppression feed was last read {_minutes(age)} ago: unsubscribes and "
            "bounces do not reach Commerce or the consent gate; check the leader's log for feed "
            "errors and Dotdigital's status.",
            round(age, 1),
            thresholds.checkpoint_age,
            age,
        )
    return found


@dataclass(frozen=True)
class Round:
    """One evaluation's outcome: what holds now, and which of those just started."""

    active: tuple[EarlyWarning, ...]
    started: tuple[EarlyWarning, ...]


class WarningBook:
    """Which warnings hold, since when: a warning still holding keeps its first `since`."""

    def __init__(self) -> None:
        self._active: dict[str, EarlyWarning] = {}

    def update(self, warnings: list[EarlyWarning]) -> Round:
        active: dict[str, EarlyWarning] = {}
        started: list[EarlyWarning] = []
        for warning in warnings:
            before = self._active.get(warning.name)
            if before is None:
                started.append(warning)
                active[warning.name] = warning
            else:
                active[warning.name] = replace(warning, since=min(before.since, warning.since))
        self._active = active
        return Round(tuple(active.values()), tuple(started))

    def forget(self, name: str) -> None:
        """As if `name` had not held: the next round that finds it starts it anew."""
        self._active.pop(name, None)

    @property
    def active(self) -> tuple[EarlyWarning, ...]:
        return tuple(self._active.values())
