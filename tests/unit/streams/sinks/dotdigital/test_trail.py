"""The sink's trail: each settled command with the call and import that carried it, and the answer."""

from __future__ import annotations

from schemas.contract.incidents import Reason
from schemas.dotdigital.commands import Lane, WriteCommand
from schemas.dotdigital.trail import Answer
from streams.sinks.dotdigital.batch_writer import Rejection
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from streams.sinks.dotdigital.trail import Receipts, entries
from tests.support.writes import ISSUED_AT, World, contact_write, order_write, updated

Commands = list[tuple[WriteCommand, str]]


async def test_the_trail_names_the_import_that_carried_each_command(world: World) -> None:
    emails = [f"trail-{n}@example.com" for n in range(5)]
    commands: Commands = [(contact_write(email), f"contact-{n}") for n, email in enumerate(emails)]
    commands += [
        (order_write(updated(950 + n, email)), f"order-{n}") for n, email in enumerate(emails)
    ]

    rejections = await world.sink.write(commands)
    trail = {
        entry.subject: entry
        for entry in entries(Lane.BATCH, commands, rejections, world.sink.receipts, ISSUED_AT)
    }

    contact = trail["contact trail-0@example.com"]
    assert (contact.answer, contact.call, contact.kind) == (
        Answer.ACCEPTED,
        "contact import of 5",
        "contact",
    )
    order = trail["order 000000950"]
    assert (order.answer, order.call) == (Answer.ACCEPTED, "insight import of 5 into Orders")
    assert (order.collection, order.record_key) == ("Orders", "000000950")
    assert contact.import_id and order.import_id and contact.import_id != order.import_id
    assert len({entry.import_id for entry in trail.values()}) == 2


async def test_a_refused_command_is_on_the_trail_with_dotdigitals_words(world: World) -> None:
    commands: Commands = [(contact_write(f"fine-{n}@example.com"), f"fine-{n}") for n in range(4)]
    commands.append((contact_write("not-an-email"), "bad"))

    rejections = await world.sink.write(commands)
    trail = entries(Lane.BATCH, commands, rejections, world.sink.receipts, ISSUED_AT)

    answers = {entry.subject: entry.answer for entry in trail}
    assert answers.pop("contact not-an-email") == Answer.REJECTED
    assert set(answers.values()) == {Answer.ACCEPTED}
    refused = next(entry for entry in trail if entry.answer == Answer.REJECTED)
    assert refused.detail and "rejected the contact" in refused.detail


async def test_realtime_writes_are_on_the_trail_as_single_calls(world: World) -> None:
    writer = RealtimeWriter(world.client, sleep=world.retry_sleep)
    email = "quick@example.com"
    commands: Commands = [
        (contact_write(email), "contact"),
        (order_write(updated(960, email)), "order"),
    ]

    rejections = await writer.write(commands)
    trail = entries(Lane.REALTIME, commands, rejections, writer.receipts, ISSUED_AT)

    assert [(entry.call, entry.answer, entry.lane) for entry in trail] == [
        ("contact upsert", Answer.ACCEPTED, Lane.REALTIME),
        ("insight record in Orders", Answer.ACCEPTED, Lane.REALTIME),
    ]


def test_a_held_back_command_is_not_counted_as_refused() -> None:
    command = contact_write("away@example.com")
    origin = "consent"
    held = Rejection(
        origin, "contact away@example.com", "away@example.com", "opted out", Reason.CONSENT_GATE
    )
    receipts = Receipts()
    receipts.note([origin], "contact upsert")

    (entry,) = entries(Lane.BATCH, [(command, origin)], [held], receipts, ISSUED_AT)

    assert (entry.answer, entry.detail) == (Answer.HELD_BACK, "opted out")


def test_a_command_dead_lettered_for_its_own_fault_is_not_accepted() -> None:
    command = contact_write("fault@example.com")
    receipts = Receipts()
    receipts.note(["o"], "contact upsert")
    receipts.fail("o", "processing failed: dead-lettered")

    (entry,) = entries(Lane.BATCH, [(command, "o")], [], receipts, ISSUED_AT)

    assert (entry.answer, entry.call) == (Answer.REJECTED, "contact upsert")
