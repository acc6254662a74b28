"""The import journal against the real Dotdigital sandbox over HTTP, on a fake clock.

A worker killed while polling an import leaves it running: Dotdigital finishes it anyway. The
worker that writes the same commands again, newer, must not be overtaken by it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from schemas.dotdigital.bodies import CollectionScope, InsightImport
from schemas.dotdigital.journals.imports import ImportEntry, ImportKind, ImportMark
from schemas.dotdigital.orders import ORDERS_COLLECTION, orders_record
from streams.sinks.dotdigital.batch_writer import BatchWriter
from streams.sinks.import_journal import UNPOLLED_IMPORT_SECONDS, ImportJournal
from tests.support.journal import SharedJournal
from tests.support.writes import PLACED_AT, World, contact_write, order_write, updated

EMAIL = "ada@example.com"
PARTITION = 3
Origin = tuple[str, int]  # (what, the writes topic's partition it came from)
# Longer than the sandbox lets an import nobody polls run (10 s).
LATER = 60.0


PROCESSING = updated(101, EMAIL, state="processing", at=PLACED_AT + timedelta(minutes=1))
COMPLETE = updated(101, EMAIL, state="complete", at=PLACED_AT + timedelta(minutes=2))


def writer(world: World, journal: SharedJournal[ImportEntry], owner: str) -> BatchWriter:
    return BatchWriter(
        world.client,
        sleep=world.retry_sleep,
        imports=ImportJournal(
            journal.reader(), owner=owner, now=world_now(world), sleep=world.time.sleep
        ),
        partition_of=lambda origin: origin[1],
    )


def world_now(world: World) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(world.time.wall_clock(), UTC)


async def left_running(
    world: World,
    journal: SharedJournal[ImportEntry],
    partition: int = PARTITION,
    *,
    learnt: bool = True,
) -> str:
    """A worker imports the order as processing, journals the import, and is killed before it
    polls it once."""
    dead = ImportJournal(journal.reader(), owner="killed", now=world_now(world))
    marks = dead.hooks(ImportKind.INSIGHT, {partition})
    await marks.starting()
    import_id = await world.client.start_insight_import(
        InsightImport(
            collection_name=ORDERS_COLLECTION,
            collection_scope=CollectionScope.CONTACT,
            collection_type="orders",
            records=[orders_record(PROCESSING)],
        )
    )
    if learnt:
        await marks.started(import_id)
    return import_id


async def stored_state(world: World) -> str:
    world.dd.advance(LATER)
    (record,) = (await world.orders_of(EMAIL)).values()
    return str(record["orderStatus"])


def ended(journal: SharedJournal[ImportEntry]) -> list[str | None]:
    return [e.import_id for e in journal.entries if e.mark is ImportMark.ENDED]


async def test_a_newer_write_waits_for_the_import_a_killed_worker_left_running(
    world: World,
) -> None:
    await world.sink.write([(contact_write(EMAIL), "c")])
    journal = SharedJournal[ImportEntry]()
    orphan = await left_running(world, journal)

    restarted = writer(world, journal, "restarted")
    assert await restarted.write([(order_write(COMPLETE), ("complete", PARTITION))]) == []

    assert orphan in ended(journal)  # waited for, and marked so nobody waits again
    assert await stored_state(world) == "complete"


async def test_without_the_journal_the_left_import_puts_the_older_state_back(
    world: World,
) -> None:
    # What the journal prevents: the same restart, with nobody told of the running import.
    await world.sink.write([(contact_write(EMAIL), "c")])
    await left_running(world, SharedJournal[ImportEntry]())

    restarted = writer(world, SharedJournal[ImportEntry](), "restarted")
    assert await restarted.write([(order_write(COMPLETE), ("complete", PARTITION))]) == []

    assert await stored_state(world) == "processing"


async def test_imports_from_other_partitions_hold_nobody_back(world: World) -> None:
    await world.sink.write([(contact_write(EMAIL), "c")])
    journal = SharedJournal[ImportEntry]()
    orphan = await left_running(world, journal, partition=PARTITION + 1)

    other = writer(world, journal, "other")
    assert await other.write([(order_write(COMPLETE), ("complete", PARTITION))]) == []

    assert orphan not in ended(journal)


async def test_a_writers_own_imports_are_journaled_started_then_ended(world: World) -> None:
    await world.sink.write([(contact_write(EMAIL), "c")])
    journal = SharedJournal[ImportEntry]()

    await writer(world, journal, "me").write([(order_write(COMPLETE), ("complete", PARTITION))])

    assert [(e.mark, e.kind, e.partitions, e.owner) for e in journal.entries] == [
        (ImportMark.STARTING, ImportKind.INSIGHT, [PARTITION], "me"),
        (ImportMark.STARTED, ImportKind.INSIGHT, [PARTITION], "me"),
        (ImportMark.ENDED, ImportKind.INSIGHT, [PARTITION], "me"),
    ]
    assert len({e.attempt for e in journal.entries}) == 1
    assert journal.entries[0].import_id is None and journal.entries[1].import_id is not None


async def test_an_import_dotdigital_does_not_know_is_not_waited_for(world: World) -> None:
    await world.sink.write([(contact_write(EMAIL), "c")])
    journal = SharedJournal[ImportEntry]()
    dead = ImportJournal(journal.reader(), owner="killed")
    marks = dead.hooks(ImportKind.CONTACTS, {PARTITION})
    await marks.starting()
    await marks.started("no-such-import")

    restarted = writer(world, journal, "restarted")
    assert await restarted.write([(order_write(COMPLETE), ("complete", PARTITION))]) == []

    assert "no-such-import" in ended(journal)


async def test_an_import_whose_id_a_killed_worker_never_learnt_is_outlasted(
    world: World,
) -> None:
    await world.sink.write([(contact_write(EMAIL), "c")])
    journal = SharedJournal[ImportEntry]()
    await left_running(world, journal, learnt=False)
    asked_at = world.time.clock()

    restarted = writer(world, journal, "restarted")
    assert await restarted.write([(order_write(COMPLETE), ("complete", PARTITION))]) == []

    # Nobody can poll it: the writer waited as long as an import nobody polls may take.
    assert world.time.clock() - asked_at >= UNPOLLED_IMPORT_SECONDS
    left = journal.entries[0].attempt
    assert [e.mark for e in journal.entries if e.attempt == left] == [
        ImportMark.STARTING,
        ImportMark.ENDED,
    ]
    assert await stored_state(world) == "complete"
