"""Tracing one order or contact through every stage, to what Dotdigital holds now: the steps
from the records each stage left, and the verdict in one sentence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.contract.incidents import Severity, SyncException
from schemas.dotdigital.commands import ContactWrite, EnrolmentWrite, InsightWrite, WriteCommand
from schemas.dotdigital.trail import Answer, Written
from schemas.rules.impact import why
from streams.runtime.incidents import readable

# The stages in the order data passes them; a trace's steps are sorted by it, then by time.
STAGES = (
    "commerce",
    "delivered",
    "normalized",
    "joined",
    "written",
    "dead-lettered",
    "refused",
    "dotdigital",
)
OK, STOPPED, PENDING = "ok", "stopped", "pending"

# What "not yet" means after the last stage a subject reached.
_WAITING = {
    "commerce": "Cartwright has received no event for it yet (is the webhook subscribed?)",
    "delivered": "normalize has not read it yet: see the lag on the status page",
    "normalized": "the join has not issued its write yet",
    "joined": "its write is waiting in the sink: see the lanes and the Dotdigital budget",
    "written": "Dotdigital accepted the write, but does not show the record (yet)",
}


@dataclass(frozen=True)
class Step:
    """One step the data took: `stage` is one of STAGES; `outcome` is ok, stopped or pending;
    `about` the record it concerns, as exceptions name it (`order 000000123 (order_fulfilled)`),
    so a later success clears only a stop of the same record."""

    stage: str
    at: datetime | None
    outcome: str
    detail: str
    about: str = ""


@dataclass(frozen=True)
class Trace:
    """Has it reached Dotdigital, and if not, where did it stop and why: `verdict` says it in
    one sentence, `steps` in order, `dotdigital` what Dotdigital holds now (label, value)."""

    subject: str
    reached: bool
    verdict: str
    steps: tuple[Step, ...]
    dotdigital: tuple[tuple[str, str], ...]


def millis(timestamp: int) -> datetime:
    """A Kafka record's timestamp (ms since the epoch)."""
    return datetime.fromtimestamp(timestamp / 1000, UTC)


def delivered(event_type: str, event_id: str, at: datetime | None, offset: int) -> Step:
    return Step("delivered", at, OK, f"{event_type} event {event_id} (raw offset {offset})")


def normalized(what: str, at: datetime | None) -> Step:
    return Step("normalized", at, OK, what)


def joined(command: WriteCommand, lane: str, at: datetime | None) -> Step:
    inner = command.command
    if isinstance(inner, ContactWrite):
        what = "contact data fields"
    elif isinstance(inner, InsightWrite):
        what = f"{inner.collection} record {inner.record.key}"
    elif isinstance(inner, EnrolmentWrite):
        what = f"enrolment into program {inner.program_id} ({inner.trigger})"
    else:
        what = f"consent {inner.action}"
    return Step("joined", at or inner.issued_at, OK, f"write issued on the {lane} lane: {what}")


def written(entry: Written) -> Step:
    imported = f", import {entry.import_id}" if entry.import_id else ""
    said = f" ({entry.detail})" if entry.detail else ""
    outcome = {Answer.ACCEPTED: OK, Answer.HELD_BACK: PENDING, Answer.REJECTED: STOPPED}
    answer = entry.answer.value.replace("_", " ")
    detail = f"{entry.lane.value} lane, {entry.call}{imported}: {answer}{said}"
    return Step("written", entry.at, outcome[entry.answer], detail, readable(entry.subject))


def excepted(record: SyncException) -> Step:
    """An exception record: a dead letter or a refusal stops the data; information does not."""
    stage = "refused" if record.severity != Severity.ERROR else "dead-lettered"
    outcome = STOPPED if record.severity == Severity.ERROR else PENDING
    detail = f"{record.reason.value}: {why(record.reason, record.message)}"
    impact = f"{detail}. Impact: {record.campaign_impact}"
    return Step(stage, record.at, outcome, impact, record.subject)


def ordered(steps: Sequence[Step]) -> tuple[Step, ...]:
    """By time; steps without one (what Commerce and Dotdigital hold now) first and last."""
    floor = datetime.min.replace(tzinfo=UTC)
    first = [step for step in steps if step.at is None and step.stage == "commerce"]
    last = [step for step in steps if step.at is None and step.stage != "commerce"]
    timed = sorted(
        (step for step in steps if step.at is not None),
        key=lambda step: (step.at or floor, STAGES.index(step.stage)),
    )
    return (*first, *timed, *last)


def verdict(subject: str, steps: Sequence[Step], in_dotdigital: bool) -> tuple[bool, str]:
    """Reached or not, in one sentence: where it stopped and why, or what it waits for."""
    accepted = [step for step in steps if step.stage == "written" and step.outcome == OK]
    last_written = max((step.at for step in accepted if step.at), default=None)
    open_stops = [
        step for step in steps if step.outcome == STOPPED and not _cleared(step, accepted)
    ]
    if in_dotdigital:
        sentence = f"{subject} is in Dotdigital"
        if last_written is not None:
            sentence += f", last written {last_written:%Y-%m-%d %H:%M:%S} UTC"
        if open_stops:
            sentence += f"; but not all of it: {open_stops[-1].stage}: {open_stops[-1].detail}"
        return True, sentence
    if open_stops:
        step = open_stops[-1]
        return (
            False,
            f"{subject} has not reached Dotdigital: it stopped at {step.stage}: {step.detail}",
        )
    reached = [step.stage for step in steps if step.outcome == OK and step.stage in _WAITING]
    furthest = max(reached, key=STAGES.index, default="commerce")
    return False, f"{subject} has not reached Dotdigital yet: {_WAITING[furthest]}"


def _cleared(stop: Step, accepted: Sequence[Step]) -> bool:
    """A stop some later accepted write for the same record made good (a replay, a change)."""
    return bool(stop.about) and any(
        step.about == stop.about
        and stop.at is not None
        and step.at is not None
        and step.at > stop.at
        for step in accepted
    )


def trace(
    subject: str, steps: Sequence[Step], dotdigital: Sequence[tuple[str, str]], in_dotdigital: bool
) -> Trace:
    """The trace of a subject from its steps and what Dotdigital holds now."""
    ordered_steps = ordered(steps)
    reached, sentence = verdict(subject, ordered_steps, in_dotdigital)
    return Trace(subject, reached, sentence, ordered_steps, tuple(dotdigital))
