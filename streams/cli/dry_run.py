"""A replay's dry run: the same folds the agents run, over the selected records, against the
tables as their changelogs hold them; what Dotdigital would be sent is counted, nothing written."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from connectors.privacy import mask_email
from schemas.contract.topics import CONSENT_OBSERVED, CUSTOMERS, IDENTITY, ORDERS, RAW, REFUNDS
from schemas.dotdigital.commands import (
    ConsentWrite,
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    WriteCommand,
)
from schemas.replay.selection import Picked, Selection
from streams.process.join import Unreadable, handlers
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer, outcome
from streams.runtime.catch_up import Record as Consumed
from streams.runtime.catch_up import read_to_end
from streams.runtime.faults import Record
from streams.runtime.topics import TOPIC_NAMES, TopicSet
from streams.settings import Settings

# The tables a replay's folds read, by their Faust names.
TABLES = ("order_facts", "contacts", "orders")
# Topics whose records the join folds; the rest of what normalize sends (carts) passes replays
# over, and consent is never replayed.
JOINED = frozenset({ORDERS, CUSTOMERS, REFUNDS, CONSENT_OBSERVED, IDENTITY})
SAMPLE = 8


def write_kind(write: WriteCommand) -> str:
    """What an operator calls a write: `contact`, `<collection> record`, `enrolment`, `consent`."""
    command = write.command
    if isinstance(command, InsightWrite):
        return f"{command.collection} record"
    if isinstance(command, EnrolmentWrite):
        return "enrolment"
    if isinstance(command, ConsentWrite):
        return "consent change"
    return "contact"


def write_subject(write: WriteCommand) -> str:
    command = write.command
    who = mask_email(command.email) if command.email else "the account"
    if isinstance(command, ContactWrite):
        return f"contact {who}"
    return f"{command.subject} ({who})"


@dataclass
class DryRun:
    """What a replay would do: events by type, the people and orders, the writes by kind."""

    events: Counter[str] = field(default_factory=Counter)
    emails: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    writes: Counter[str] = field(default_factory=Counter)
    sample: list[str] = field(default_factory=list)
    unreadable: int = 0
    problems: Counter[str] = field(default_factory=Counter)

    def wrote(self, write: WriteCommand) -> None:
        self.writes[write_kind(write)] += 1
        if write.command.email:
            self.emails.add(write.command.email)
        if len(self.sample) < SAMPLE:
            self.sample.append(f"{write_kind(write)}: {write_subject(write)}")


def order_number(topic: str, record: Picked) -> str:
    """One name per order, whichever record names it: its increment id (a record's ids also
    hold its entity id, its customer's and its cart's), else its key."""
    entity = orjson.loads(record.value)  # `pick` read it: a JSON object
    if topic == RAW:
        data = entity.get("data")
        entity = data.get("value") if isinstance(data, dict) else None
    number = entity.get("increment_id") if isinstance(entity, dict) else None
    if isinstance(number, str | int) and not isinstance(number, bool):
        return str(number)
    return (record.key or b"").decode(errors="replace")


async def changelog_tables(settings: Settings) -> dict[str, dict[bytes, bytes]]:
    """Each table as its changelog holds it: last value per key, tombstones removed."""
    tables: dict[str, dict[bytes, bytes]] = {}
    for name in TABLES:
        table: dict[bytes, bytes] = {}

        def keep(record: Consumed, table: dict[bytes, bytes] = table) -> None:
            key = record.key or b""
            if record.value is None:
                table.pop(key, None)
            else:
                table[key] = record.value

        # A changelog not created yet reads as no partitions: the table is empty.
        await read_to_end(
            settings.kafka.bootstrap, f"{settings.kafka.app_id}-{name}-changelog", keep
        )
        tables[name] = table
    return tables


async def simulate(
    settings: Settings, topic: str, picked: Iterable[Picked], tables: dict[str, dict[bytes, bytes]]
) -> DryRun:
    """Run the replay's folds over `picked` against `tables` (changed in place: they are a copy)."""
    normalizer = Normalizer(tables["order_facts"])
    joiner = Joiner(
        tables["contacts"],
        tables["orders"],
        collection=settings.orders.collection,
        refunds_collection=settings.orders.refunds_collection,
        programs=settings.programs.by_trigger(),
        write_back=settings.consent.write_back,
        data_fields=settings.dotdigital.data_fields,
    )
    dispatch = handlers(joiner)
    names = TopicSet(**TOPIC_NAMES)
    report = DryRun()
    for record in picked:
        report.events[record.event_type] += 1
        if record.email:
            report.emails.add(record.email)
        if record.event_type == "order" or topic == ORDERS:
            report.orders.add(order_number(topic, record))
        if topic == RAW:
            held = Record(
                value=record.value,
                source_topic=RAW,
                key=None,
                partition=record.partition,
                offset=record.offset,
                subject=f"raw record {record.offset}",
            )
            done = outcome(normalizer, names, record.key or b"", held, replay=True)
            if done.problem is not None:
                report.problems[done.problem.reason.value] += 1
                continue
            normalizer.keep(record.key or b"", done.facts)
            sends: list[tuple[str, bytes, bytes]] = [
                (str(t), key, value) for t, key, value in done.sends
            ]
        else:
            sends = [(topic, record.key or b"", record.value)]
        await _join(dispatch, sends, report)
    return report


async def _join(dispatch: Any, sends: list[tuple[str, bytes, bytes]], report: DryRun) -> None:
    """Fold each send into the join as a replay, and what it forwards, as the agents would."""
    pending = list(sends)
    while pending:
        topic, key, value = pending.pop(0)
        if topic not in JOINED:
            continue
        try:
            out = await dispatch[topic](value, key.decode(errors="replace"), True)
        except Unreadable:
            report.unreadable += 1
            continue
        for write in out.writes:
            report.wrote(write)
        pending += [
            (
                forward.topic,
                forward.key.encode(),
                forward.event.model_dump_json(by_alias=True).encode(),
            )
            for forward in out.forwards
        ]


def print_dry_run(report: DryRun, selection: Selection, selected: int) -> None:
    """The dry run as an operator reads it: what was selected, what Dotdigital would get."""
    console = Console(file=sys.stdout, width=100)
    window = selection.window
    console.print(
        f"dry run: {selected:,} events of {selection.topic} from "
        f"{window.start.isoformat() if window.start else 'the beginning'} to "
        f"{window.end.isoformat() if window.end else 'now'}; nothing was written"
    )
    events = Table("events", "count", title="selected")
    for kind, count in sorted(report.events.items()):
        events.add_row(kind, f"{count:,}")
    events.add_row("contacts", f"{len(report.emails):,}")
    events.add_row("orders", f"{len(report.orders):,}")
    console.print(events)
    writes = Table("Dotdigital write", "count", title="would be written (upserts)")
    for kind, count in sorted(report.writes.items()):
        writes.add_row(kind, f"{count:,}")
    if not report.writes:
        writes.add_row("none", "0")
    console.print(writes)
    if report.problems or report.unreadable:
        problems = ", ".join(f"{reason} {n}" for reason, n in sorted(report.problems.items()))
        console.print(f"would be dead-lettered: {problems or ''} unreadable {report.unreadable}")
    if report.sample:
        console.print("for example:")
        for line in report.sample:
            console.print(f"  {line}", markup=False)
