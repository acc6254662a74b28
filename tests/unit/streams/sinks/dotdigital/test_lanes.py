"""A lane's batch against the Dotdigital sandbox when one command in it cannot be processed: that
command is dead-lettered as processing failed, the others are written, the lane goes on."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.errors import FatalError
from schemas.contract.consent import ConsentSource, ConsentStatus
from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.topics import WRITES
from schemas.dotdigital.commands import EnrolmentWrite, WriteCommand
from schemas.rules.consent import ConsentState
from streams.process.contact_book import ContactBook
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.sinks.consent_gate import ConsentGate
from streams.sinks.dotdigital.batch_writer import BatchWriter, Rejection
from streams.sinks.dotdigital.lanes import Consumed, answers, count_settled, settle
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from streams.sinks.dotdigital.trail import Receipts
from tests.support.topic import RecordingTopic
from tests.support.writes import ISSUED_AT, World, contact_write

CORRUPT = "corrupt@example.com"
PROGRAM = 7
ACTIVE_PROGRAM = 1  # active in the sandbox's default account

# A contact who opted out in Dotdigital, as the join's table holds them for the consent gate.
OPTED_OUT = ConsentState(
    status=ConsentStatus.UNSUBSCRIBED,
    source=ConsentSource.DOTDIGITAL,
    reason="Unsubscribed",
    at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
    event_id="evt-feed",
)


def enrolment(email: str, program: int = PROGRAM) -> WriteCommand:
    return WriteCommand(
        command=EnrolmentWrite(
            email=email,
            program_id=program,
            trigger="first_order",
            subject=f"order of {email}",
            source_event_id=f"evt-enrol-{email}",
            issued_at=ISSUED_AT,
        )
    )


def taken(commands: list[WriteCommand]) -> list[tuple[WriteCommand, Consumed]]:
    """Commands as the lane took them off the writes topic, at offsets 0, 1, 2…"""
    return [
        (
            command,
            Consumed(
                orjson.dumps(command.model_dump(mode="json")),
                command.command.email or "",
                0,
                offset,
                command.command.source_event_id,
            ),
        )
        for offset, command in enumerate(commands)
    ]


def corrupt_gate() -> ConsentGate:
    """The join's contacts table with one entry no version of Cartwright wrote as it reads."""
    book = ContactBook({CORRUPT.encode(): b'{"email": 5}'}, {})
    return ConsentGate(book.consent_of)


class Box:
    def __init__(self) -> None:
        self.deadletter, self.exceptions = RecordingTopic(), RecordingTopic()
        self.incidents = Incidents(self.deadletter, self.exceptions)

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for _, v in self.deadletter.sent]


@pytest.mark.parametrize("lane", ["batch", "realtime"])
async def test_one_command_that_fails_is_dead_lettered_and_the_rest_are_written(
    world: World, lane: str
) -> None:
    box = Box()
    gate = corrupt_gate()
    writer = (
        BatchWriter(world.client, sleep=world.retry_sleep, gate=gate)
        if lane == "batch"
        else RealtimeWriter(world.client, sleep=world.retry_sleep, gate=gate)
    )
    commands = taken(
        [
            contact_write("ada@example.com"),
            contact_write(CORRUPT),
            enrolment(CORRUPT),
            contact_write("alan@example.com"),
        ]
    )

    rejections = await settle(writer, commands, box.incidents, WRITES)

    assert rejections == []
    [letter] = box.letters()
    assert letter.reason is Reason.PROCESSING_FAILED
    assert (letter.source_topic, letter.offset, letter.key) == (WRITES, 2, CORRUPT)
    assert letter.original() == commands[2][1].value
    assert letter.detail.startswith("processing failed: ValidationError")
    for email in ("ada@example.com", "alan@example.com", CORRUPT):
        assert await world.client.get_contact(email) is not None


class Refusing:
    """A writer that Dotdigital refuses for good, as a wrong password makes it."""

    receipts = Receipts()

    async def write(
        self, commands: Sequence[tuple[WriteCommand, Consumed]]
    ) -> list[Rejection[Consumed]]:
        raise FatalError("401: authorization denied")


async def test_a_fatal_error_is_no_records_fault_and_stops_the_lane() -> None:
    box = Box()

    with pytest.raises(FatalError):
        await settle(Refusing(), taken([contact_write("ada@example.com")]), box.incidents, WRITES)

    assert box.deadletter.sent == []


async def test_a_settled_batch_is_counted_by_kind_and_answer(world: World) -> None:
    kept, gone = "kept@example.com", "gone@example.com"
    writer = BatchWriter(
        world.client, sleep=world.retry_sleep, gate=ConsentGate({gone: OPTED_OUT}.get)
    )
    commands = taken(
        [
            contact_write(kept),
            contact_write(gone),
            enrolment(kept, ACTIVE_PROGRAM),
            enrolment(kept),  # a program the account does not have: Dotdigital answers 404
            enrolment(gone, ACTIVE_PROGRAM),
        ]
    )

    counted, issued = answers(commands, await settle(writer, commands, Box().incidents, WRITES))

    # The opted-out contact's enrolment is held back by the gate, not refused by Dotdigital.
    assert counted == {
        ("contact", "accepted"): 2,
        ("enrolment", "accepted"): 1,
        ("enrolment", "rejected"): 1,
        ("enrolment", "held_back"): 1,
    }
    assert issued == [ISSUED_AT] * 3


def test_the_webhook_to_dotdigital_latency_is_counted_for_accepted_news_only() -> None:
    metrics = Metrics()
    now = time.time()
    news = Consumed(b"", "a", 0, 1, "e1", received=now - 30)
    refused = Consumed(b"", "b", 0, 2, "e2", received=now - 30)
    replayed = Consumed(b"", "c", 0, 3, "e3")  # a replay carries no receipt time
    commands = [
        (contact_write("a@example.com"), news),
        (contact_write("b@example.com"), refused),
        (contact_write("c@example.com"), replayed),
    ]

    count_settled(metrics, "batch", commands, [Rejection(refused, "contact b", None, "no")])

    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    samples = {
        (s.name, s.labels.get("lane")): s.value
        for s in families["cartwright_webhook_to_dotdigital_seconds"].samples
    }
    assert samples["cartwright_webhook_to_dotdigital_seconds_count", "batch"] == 1
    assert 30 <= samples["cartwright_webhook_to_dotdigital_seconds_sum", "batch"] < 60


async def test_enrolments_the_gate_holds_back_count_per_program_for_the_early_warnings(
    world: World,
) -> None:
    gone = "gone@example.com"
    writer = BatchWriter(
        world.client, sleep=world.retry_sleep, gate=ConsentGate({gone: OPTED_OUT}.get)
    )
    commands = taken(
        [contact_write(gone), enrolment(gone, ACTIVE_PROGRAM), enrolment("kept@example.com")]
    )
    metrics = Metrics()

    rejections = await settle(writer, commands, Box().incidents, WRITES)
    count_settled(metrics, "batch", commands, rejections)

    # Dotdigital's refusal (an unknown program) is no gate refusal.
    assert metrics.recent.by_prefix("gate_refusals:") == {str(ACTIVE_PROGRAM): 1}
