"""The enrolment ledger in both writers, against the real Dotdigital sandbox over HTTP: a
redelivered enrolment is not sent again, one a crash interrupted is reported and not sent."""

from __future__ import annotations

import asyncio

from schemas.contract.incidents import Reason
from schemas.dotdigital.commands import EnrolmentWrite, Lane, WriteCommand
from schemas.dotdigital.journals.enrolments import Enrolment, LedgerEntry, Mark
from streams.sinks.dotdigital.batch_writer import BatchWriter
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from streams.sinks.enrolment_ledger import EnrolmentLedger
from tests.support.journal import SharedJournal
from tests.support.writes import ISSUED_AT, World, contact_write

PROGRAM = 1  # active in the sandbox's default account
SUBJECT = "order 000000001 (order_fulfilled)"


def enrolment(email: str, lane: Lane = Lane.BATCH, subject: str = SUBJECT) -> WriteCommand:
    return WriteCommand(
        command=EnrolmentWrite(
            lane=lane,
            email=email,
            program_id=PROGRAM,
            trigger="order_fulfilled",
            subject=subject,
            source_event_id="evt-order",
            issued_at=ISSUED_AT,
        )
    )


async def enrolled(world: World) -> int:
    return len((await world.dd.admin("enrolments"))["enrolments"])


def claimed_before_a_crash(journal: SharedJournal[LedgerEntry], email: str) -> None:
    journal.entries.append(
        LedgerEntry(
            email=email,
            program_id=PROGRAM,
            subject=SUBJECT,
            mark=Mark.CLAIMED,
            source_event_id="evt-order",
            at=ISSUED_AT,
        )
    )


async def test_a_redelivered_batch_enrolment_after_a_restart_is_not_sent_again(
    world: World,
) -> None:
    email = "ada@example.com"
    await world.sink.write([(contact_write(email), "c")])
    journal = SharedJournal[LedgerEntry]()
    first = BatchWriter(
        world.client, sleep=world.retry_sleep, ledger=EnrolmentLedger(journal.reader())
    )
    assert await first.write([(enrolment(email), "e1")]) == []

    # The offset was never committed: the restarted worker gets the same command again.
    restarted = BatchWriter(
        world.client, sleep=world.retry_sleep, ledger=EnrolmentLedger(journal.reader())
    )
    assert await restarted.write([(enrolment(email), "e1")]) == []

    assert await enrolled(world) == 1
    assert [e.mark for e in journal.entries] == [Mark.CLAIMED, Mark.DONE]


async def test_an_enrolment_claimed_before_a_crash_is_reported_and_not_sent(world: World) -> None:
    email, other = "ada@example.com", "grace@example.com"
    await world.sink.write([(contact_write(email), "c"), (contact_write(other), "c2")])
    journal = SharedJournal[LedgerEntry]()
    claimed_before_a_crash(journal, email)
    sink = BatchWriter(
        world.client, sleep=world.retry_sleep, ledger=EnrolmentLedger(journal.reader())
    )

    (rejection,) = await sink.write([(enrolment(email), "e1"), (enrolment(other), "e2")])

    assert (rejection.origin, rejection.reason) == ("e1", Reason.ENROLMENT_INTERRUPTED)
    assert rejection.subject == SUBJECT and rejection.email == email
    assert "a***@example.com" in rejection.detail and email not in rejection.detail
    assert f"program {PROGRAM}" in rejection.detail and "000000001" in rejection.detail
    assert await enrolled(world) == 1  # only the other contact


async def test_a_refused_enrolment_is_released_so_a_replay_may_try_again(world: World) -> None:
    email = "nobody-yet@example.com"
    journal = SharedJournal[LedgerEntry]()
    ledger = EnrolmentLedger(journal.reader())
    await world.dd.admin("programs", {"programs": {str(PROGRAM): False}})
    sink = BatchWriter(world.client, sleep=world.retry_sleep, ledger=ledger)
    await sink.write([(contact_write(email), "c")])

    (refused,) = await sink.write([(enrolment(email), "e1")])
    await world.dd.admin("programs", {"programs": {str(PROGRAM): True}})
    again = await sink.write([(enrolment(email), "e1")])

    assert refused.reason is Reason.DOTDIGITAL_REJECTED and again == []
    assert [e.mark for e in journal.entries] == [
        Mark.CLAIMED,
        Mark.RELEASED,
        Mark.CLAIMED,
        Mark.DONE,
    ]
    assert await enrolled(world) == 1


async def test_the_realtime_lane_keeps_the_same_ledger(world: World) -> None:
    email, interrupted = "ada@example.com", "grace@example.com"
    await world.sink.write([(contact_write(email), "c"), (contact_write(interrupted), "c2")])
    journal = SharedJournal[LedgerEntry]()
    claimed_before_a_crash(journal, interrupted)
    realtime = RealtimeWriter(
        world.client, sleep=world.retry_sleep, ledger=EnrolmentLedger(journal.reader())
    )

    first = await realtime.write([(enrolment(email, Lane.REALTIME), "e1")])
    again = await realtime.write([(enrolment(email, Lane.REALTIME), "e1")])
    (rejection,) = await realtime.write([(enrolment(interrupted, Lane.REALTIME), "e2")])

    assert first == again == []
    assert rejection.reason is Reason.ENROLMENT_INTERRUPTED
    assert await enrolled(world) == 1


class GatedJournal:
    """A journal whose reads wait for the test to let them end, counting how many began."""

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self.reads = 0
        self.gate = asyncio.Event()

    async def append(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)

    async def read_new(self) -> list[LedgerEntry]:
        self.reads += 1
        await self.gate.wait()
        new, self.entries = self.entries, []
        return new


async def test_sorts_that_wait_for_a_read_share_the_next_one_and_see_what_came_before() -> None:
    journal = GatedJournal()
    ledger = EnrolmentLedger(journal)
    wanted = [Enrolment(f"c{n}@example.com", PROGRAM, SUBJECT) for n in range(5)]
    first = asyncio.create_task(ledger.sort(wanted[:1]))
    await asyncio.sleep(0)  # the first read is under way
    claimed_before_a_crash_of(journal, wanted[3])  # durable before the others ask
    waiting = [asyncio.create_task(ledger.sort([e])) for e in wanted[1:]]
    await asyncio.sleep(0)
    journal.gate.set()
    sortings = await asyncio.gather(first, *waiting)
    assert journal.reads == 2  # the first, then one for all four that waited
    assert [s.interrupted for s in sortings] == [[], [], [], [wanted[3]], []]
    await ledger.sort(wanted[:1])
    assert journal.reads == 3  # a sort after a read ended reads again


def claimed_before_a_crash_of(journal: GatedJournal, enrolment: Enrolment) -> None:
    journal.entries.append(
        LedgerEntry(
            email=enrolment.email,
            program_id=enrolment.program_id,
            subject=enrolment.subject,
            mark=Mark.CLAIMED,
            source_event_id="evt-order",
            at=ISSUED_AT,
        )
    )
