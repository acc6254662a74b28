"""Dead letters put back on the topics they came from, once each, after their cause was fixed.

A run reads `cartwright.deadletter.v1` and the marks on `cartwright.replayed.v1`, both to their
true end (the embedded broker's end offsets are too low), sorts the dead letters the selection
picks (schemas/replay/dead_letters.py), and for each one to put back: produces its
original bytes, with its original key, on its source topic and partition (headed
`cartwright-dead-letter: <partition>:<offset>`), waits for the broker's acknowledgement, and only
then appends its mark (`deadletter:<partition>:<offset>`), so a second run puts none back twice.

At least once: a crash between the acknowledgement and the mark puts that dead letter back again
on the next run. That is safe because what agents do with it is: Dotdigital writes are upserts by
deterministic keys, enrolments go through the enrolment ledger (one per contact, program and
subject; a refusal for good released its claim, so the replay may enrol, once), and a normalized
event already folded is a duplicate the tables ignore. A record put back on a topic several agents
read (commerce.orders.v1) reaches all of them; those that had it take it as a duplicate.

A put-back record is news, not a window replay's restatement: it never reached Dotdigital, so the
agents take it as they would have the first time. Should its cause not be fixed, it is dead-
lettered again, as a new dead letter the next run selects.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from schemas.contract.incidents import DeadLetter
from schemas.contract.replay import DEAD_LETTER_HEADER, ReplayedDeadLetter
from schemas.contract.topics import DEADLETTER, REPLAYED
from schemas.replay.dead_letters import (
    DeadLetterSelection,
    Letter,
    mark_key,
    sort_letters,
)
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.incidents import MAX_ORIGINAL_BYTES
from streams.runtime.topics import encoded
from streams.sources.replay.dead_letter_report import DeadLetterReport, Outcome
from streams.sources.replay.progress import Progress

__all__ = ["DeadLetterReport", "DeadLetterSelection", "Outcome", "replay_dead_letters"]

log = logging.getLogger(__name__)

# Dead letters put back between two waits for acknowledgements (and their marks).
CHUNK = 200
# Reading a large dead-letter topic takes a while; past this something is wrong.
READ_GIVE_UP_AFTER = 600.0


async def replay_dead_letters(
    bootstrap: str,
    selection: DeadLetterSelection,
    *,
    dry_run: bool,
    confirm_above: int | None,
    progress: Progress,
) -> DeadLetterReport:
    """Put back the dead letters `selection` picks that were not put back before. With `dry_run`,
    or when more than `confirm_above` are picked (None: no limit, the operator said --yes), only
    say what would be put back: nothing is written."""
    letters, unreadable = await read_letters(bootstrap, progress)
    marked = await read_marks(bootstrap, progress)
    sorting = sort_letters(letters, marked, selection, max_original=MAX_ORIGINAL_BYTES)
    report = DeadLetterReport.of(len(letters), unreadable, sorting)
    report.confirm_above = confirm_above
    if dry_run:
        return report
    if confirm_above is not None and report.selected > confirm_above:
        report.outcome = Outcome.HELD
        return report
    report.outcome = Outcome.REPLAYED
    if sorting.replay:
        report.run = f"deadletters-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        report.replayed = await put_back(bootstrap, sorting.replay, report.run, progress)
    return report


async def read_letters(bootstrap: str, progress: Progress) -> tuple[list[Letter], int]:
    """Every dead letter on the topic, with its place; and how many records were not one."""
    letters: list[Letter] = []
    unreadable = 0

    def keep(record: Record) -> None:
        nonlocal unreadable
        progress.advance()
        try:
            letter = DeadLetter.model_validate_json(record.value or b"")
        except ValidationError:
            unreadable += 1
            log.warning(
                "not a dead letter, left alone",
                extra={"topic": DEADLETTER, "partition": record.partition, "offset": record.offset},
            )
            return
        letters.append(Letter(record.partition, record.offset, letter))

    progress.start(f"reading {DEADLETTER}", None)
    try:
        await read_to_end(bootstrap, DEADLETTER, keep, give_up_after=READ_GIVE_UP_AFTER)
    finally:
        progress.finish()
    return letters, unreadable


async def read_marks(bootstrap: str, progress: Progress) -> set[str]:
    """The mark keys of every dead letter put back before."""
    marked: set[str] = set()

    def keep(record: Record) -> None:
        progress.advance()
        try:
            mark = ReplayedDeadLetter.model_validate_json(record.value or b"")
        except ValidationError:
            log.warning(
                "unreadable replay mark, left alone",
                extra={"topic": REPLAYED, "partition": record.partition, "offset": record.offset},
            )
            return
        marked.add(mark_key(mark.dead_letter_partition, mark.dead_letter_offset))

    progress.start(f"reading {REPLAYED}", None)
    try:
        await read_to_end(bootstrap, REPLAYED, keep, give_up_after=READ_GIVE_UP_AFTER)
    finally:
        progress.finish()
    return marked


async def put_back(bootstrap: str, letters: list[Letter], run: str, progress: Progress) -> int:
    """Each dead letter's original on its source topic, acknowledged, then its mark appended
    (acknowledged too); returns how many were put back."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,  # the embedded broker lacks InitProducerId
        linger_ms=10,
        client_id="cartwright-replay",
    )
    await producer.start()
    done = 0
    progress.start(f"replaying dead letters ({run})", len(letters))
    try:
        for first in range(0, len(letters), CHUNK):
            chunk = letters[first : first + CHUNK]
            originals = [
                await producer.send(
                    letter.letter.source_topic,
                    key=letter.letter.key.encode() if letter.letter.key else None,
                    value=letter.letter.original(),
                    partition=letter.letter.partition,
                    headers=[(DEAD_LETTER_HEADER, f"{letter.partition}:{letter.offset}".encode())],
                )
                for letter in chunk
            ]
            for ack in originals:
                await ack
            # Only now, with every original of the chunk in Kafka: the marks.
            now = datetime.now(UTC)
            marks = [
                await producer.send(
                    REPLAYED,
                    key=letter.mark_key.encode(),
                    value=encoded(
                        ReplayedDeadLetter(
                            dead_letter_partition=letter.partition,
                            dead_letter_offset=letter.offset,
                            reason=letter.letter.reason,
                            source_topic=letter.letter.source_topic,
                            run=run,
                            replayed_at=now,
                        )
                    ),
                )
                for letter in chunk
            ]
            for ack in marks:
                await ack
            done += len(chunk)
            progress.advance(len(chunk))
            log.info("put back %d dead letters", done, extra={"run": run})
    finally:
        await producer.stop()
        progress.finish()
    return done
