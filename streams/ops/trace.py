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
    """One step the data took: `stage` is one of STAGES; `outcome` is ok, stopped or pending."""

    stage: str
    at: datetime | None
    outcome: str
    detail: str


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
    return Step("written", entry.at, outcome[entry.answer], detail)


def excepted(record: SyncException) -> Step:
    """An exception record: a dead letter or a refusal stops the data; information does not."""
    stage = "refused" if record.severity != Severity.ERROR else "dead-lettered"
    outcome = STOPPED if record.severity == Severity.ERROR else PENDING
    detail = f"{record.reason.value}: {why(record.reason, record.message)}"
    return Step(stage, record.at, outcome, f"{detail}. Impact: {record.campaign_impact}")


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
    stopped = [step for step in steps if step.outcome == STOPPED]
    last_written = max(
        (step.at for step in steps if step.stage == "written" and step.outcome == OK and step.at),
        default=None,
    )
    open_stops = [
        step for step in stopped if last_written is None or (step.at and step.at > last_written)
    ]
    if in_dotdigital:
        sentence = f"{subject} is in Dotdigital"
        if last_written is not None:
            sentence += f", last written {last_written:%Y-%m-%d %H:%M:%S} UTC"
        if open_stops:
            sentence += f"; but a later change stopped at {open_stops[-1].stage}: "
            sentence += open_stops[-1].detail
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


def trace(
    subject: str, steps: Sequence[Step], dotdigital: Sequence[tuple[str, str]], in_dotdigital: bool
) -> Trace:
    """The trace of a subject from its steps and what Dotdigital holds now."""
    ordered_steps = ordered(steps)
    reached, sentence = verdict(subject, ordered_steps, in_dotdigital)
    return Trace(subject, reached, sentence, ordered_steps, tuple(dotdigital))
