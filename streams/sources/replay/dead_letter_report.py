"""What a dead-letter replay found, chose and did, as an operator reads it (emails masked)."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connectors.privacy import redact_emails
from schemas.contract.topics import DEADLETTER, REPLAYED
from schemas.replay.dead_letters import Letter, Sorting, subject

_COUNTS = ("to replay", "already replayed", "cannot be replayed")
# How many dead letters the report names one by one.
SAMPLE = 8
WIDTH = 160


class Outcome(StrEnum):
    DRY_RUN = "dry run"
    HELD = "held"  # more selected than confirm_above, no --yes: only the dry run
    REPLAYED = "replayed"


@dataclass
class Tally:
    """Counts of one kind (a reason, a source topic): to put back, put back before, left alone."""

    replay: Counter[str] = field(default_factory=Counter)
    already: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def rows(self) -> list[tuple[str, int, int, int]]:
        names = sorted(set(self.replay) | set(self.already) | set(self.skipped))
        return [(n, self.replay[n], self.already[n], self.skipped[n]) for n in names]


@dataclass
class DeadLetterReport:
    """What a dead-letter replay selected and did."""

    outcome: Outcome = Outcome.DRY_RUN
    read: int = 0  # dead letters on the topic
    unreadable: int = 0  # records of the topic that are not dead letters
    selected: int = 0  # to put back (of the selection, not put back before, fit)
    already: int = 0  # of the selection, put back before
    skipped: int = 0  # of the selection, left alone (see `left_alone`)
    replayed: int = 0  # put back by this run
    confirm_above: int | None = None
    run: str | None = None
    by_reason: Tally = field(default_factory=Tally)
    by_topic: Tally = field(default_factory=Tally)
    left_alone: Counter[str] = field(default_factory=Counter)  # why → how many
    sample: list[tuple[str, str, str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, read: int, unreadable: int, sorting: Sorting) -> DeadLetterReport:
        report = cls(
            read=read,
            unreadable=unreadable,
            selected=len(sorting.replay),
            already=len(sorting.already),
            skipped=len(sorting.skipped),
        )
        for letter in sorting.replay:
            report._count(letter, "replay")
            if len(report.sample) < SAMPLE:
                report.sample.append(_named(letter))
        for letter in sorting.already:
            report._count(letter, "already")
        for letter, why in sorting.skipped:
            report._count(letter, "skipped")
            report.left_alone[why] += 1
        return report

    def _count(self, letter: Letter, column: str) -> None:
        dead = letter.letter
        getattr(self.by_reason, column)[dead.reason.value] += 1
        getattr(self.by_topic, column)[dead.source_topic] += 1

    def headline(self) -> str:
        """The one line that says what happened."""
        if self.outcome is Outcome.REPLAYED and not self.replayed:
            return (
                "replayed 0 dead letters: none of this selection is left to replay "
                f"({self.already:,} replayed before, {self.skipped:,} cannot be)"
            )
        if self.outcome is Outcome.REPLAYED:
            return (
                f"replayed {self.replayed:,} dead letters ({self.run}): each put back on its "
                f"source topic, acknowledged, then marked on {REPLAYED}"
            )
        if self.outcome is Outcome.HELD:
            return (
                f"{self.selected:,} dead letters selected is more than "
                f"CARTWRIGHT_REPLAY__CONFIRM_ABOVE ({self.confirm_above:,}): this was only a "
                "dry run, nothing was written; run again with --yes to replay them"
            )
        return f"dry run: {self.selected:,} dead letters would be replayed; nothing was written"

    def render(self) -> str:
        """The report as aligned tables, for a terminal or a log."""
        out = io.StringIO()
        console = Console(file=out, width=WIDTH, no_color=True, highlight=False)
        console.print(self.headline(), markup=False, soft_wrap=True)
        summary = _table(f"on {DEADLETTER}", "dead letters", "count")
        rows = [
            ("read", self.read),
            ("of this selection", self.selected + self.already + self.skipped),
            ("already replayed (marked)", self.already),
            ("cannot be replayed", self.skipped),
            (
                "replayed now" if self.outcome is Outcome.REPLAYED else "would be replayed",
                self.replayed if self.outcome is Outcome.REPLAYED else self.selected,
            ),
        ]
        if self.unreadable:
            rows.append(("unreadable records (not dead letters)", self.unreadable))
        for name, count in rows:
            summary.add_row(name, f"{count:,}")
        console.print(summary)
        for title, tally in (("reason", self.by_reason), ("source topic", self.by_topic)):
            if not tally.rows():
                continue
            table = _table(
                f"by {title}", title, "to replay", "already replayed", "cannot be replayed"
            )
            for name, replay, already, skipped in tally.rows():
                table.add_row(escape(name), f"{replay:,}", f"{already:,}", f"{skipped:,}")
            console.print(table)
        if self.left_alone:
            left = _table("cannot be replayed", "why not", "count")
            for why, count in sorted(self.left_alone.items()):
                left.add_row(escape(why), f"{count:,}")
            console.print(left)
        if self.sample:
            sample = _table("for example", "dead letter", "reason", "source topic", "record")
            for row in self.sample:
                sample.add_row(*(escape(cell) for cell in row))
            console.print(sample)
        return "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n")


def _table(title: str, *columns: str) -> Table:
    """A table as the report draws them; columns of counts are right-aligned."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE)
    for name in columns:
        counts = name == "count" or name in _COUNTS
        table.add_column(name, justify="right" if counts else "left")
    return table


def _named(letter: Letter) -> tuple[str, str, str, str]:
    dead = letter.letter
    return (letter.mark_key, dead.reason.value, dead.source_topic, redact_emails(subject(letter)))
