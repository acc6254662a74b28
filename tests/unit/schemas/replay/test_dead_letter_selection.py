"""Which dead letters `replay --dead-letters` puts back: by reason, time and the ids an operator
has in hand; never one put back before; never one that cannot go back whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.topics import ORDERS, RAW, TICKS, WRITES
from schemas.replay.dead_letters import (
    DeadLetterSelection,
    Letter,
    identifiers,
    mark_key,
    selects,
    sort_letters,
    subject,
    unfit,
)

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
MAX = 256 * 1024
FIXTURES = Path(__file__).parents[3] / "fixtures" / "commerce"


def enrolment_command(email: str = "Roni_Cost@Example.com", number: str = "000000004") -> bytes:
    return orjson.dumps(
        {
            "command": {
                "kind": "enrolment",
                "schema_version": 1,
                "lane": "batch",
                "email": email,
                "program_id": 1,
                "trigger": "order_fulfilled",
                "subject": f"order {number}",
                "source_event_id": "9e8d7c6b-0001-4a3b-8c2d-1e0f9a8b7c61",
                "issued_at": "2026-11-27T09:00:00Z",
            }
        }
    )


def letter(
    original: bytes,
    *,
    reason: Reason = Reason.DOTDIGITAL_REJECTED,
    source_topic: str = WRITES,
    key: str | None = "roni_cost@example.com",
    at: datetime = AT,
    detail: str = "enrolment: Dotdigital answered 422 (ERROR_PROGRAM_NOT_ACTIVE)",
    place: tuple[int, int] = (0, 0),
) -> Letter:
    return Letter(
        *place,
        DeadLetter(
            reason=reason,
            detail=detail,
            source_topic=source_topic,
            partition=1,
            offset=7,
            key=key,
            original_b64=DeadLetter.encode(original),
            at=at,
        ),
    )


def test_no_filter_selects_every_dead_letter() -> None:
    assert selects(DeadLetterSelection(), letter(enrolment_command()))


def test_reasons_select_only_dead_letters_of_those_reasons() -> None:
    rejected = letter(enrolment_command())
    failed = letter(enrolment_command(), reason=Reason.PROCESSING_FAILED)
    only = DeadLetterSelection(reasons=frozenset({Reason.DOTDIGITAL_REJECTED}))

    assert [selects(only, one) for one in (rejected, failed)] == [True, False]


def test_since_selects_dead_letters_written_at_or_after_it() -> None:
    since = DeadLetterSelection(since=AT)

    assert selects(since, letter(enrolment_command(), at=AT))
    assert selects(since, letter(enrolment_command(), at=AT + timedelta(seconds=1)))
    assert not selects(since, letter(enrolment_command(), at=AT - timedelta(seconds=1)))


@pytest.mark.parametrize(
    "asked",
    [
        "roni_cost@example.com",  # the key, as the exception record's email
        "RONI_COST@EXAMPLE.COM ",  # any case, stray spaces
        "000000004",  # the order number, from the write's subject
        "#000000004",  # as the storefront shows it
        "order 000000004",  # the subject as the exception record says it
        "9e8d7c6b-0001-4a3b-8c2d-1e0f9a8b7c61",  # the Adobe event id behind the write
        "deadletter:0:0",  # the dead letter as the report names it
    ],
)
def test_an_id_an_operator_has_in_hand_selects_its_dead_letter(asked: str) -> None:
    assert selects(DeadLetterSelection(ids=frozenset({asked})), letter(enrolment_command()))


def test_an_id_it_does_not_carry_leaves_it() -> None:
    others = DeadLetterSelection(ids=frozenset({"000000005", "someone@example.com", "1"}))

    assert not selects(others, letter(enrolment_command()))


def test_a_raw_event_is_found_by_its_event_id_order_number_customer_and_key() -> None:
    raw = letter(
        (FIXTURES / "registered_order.json").read_bytes(),
        reason=Reason.INVALID_PAYLOAD,
        source_topic=RAW,
        key="order:4",
    )

    found = identifiers(raw)

    assert {"9e8d7c6b-0001-4a3b-8c2d-1e0f9a8b7c61", "000000004", "order:4", "7"} <= found
    assert "roni_cost@example.com" in found
    assert "24-mb04" not in found  # an order line's SKU is not what the dead letter is about


def test_an_original_that_is_not_json_is_found_by_its_key_and_place() -> None:
    broken = letter(b"{not json", reason=Reason.MALFORMED_JSON, source_topic=RAW, key="order:9")

    assert identifiers(broken) == {"deadletter:0:0", "0:0", "order:9", "9"}


def test_dead_letters_marked_replayed_are_counted_but_not_put_back_again() -> None:
    first = letter(enrolment_command(), place=(0, 3))
    second = letter(enrolment_command(number="000000005"), place=(1, 0))

    sorting = sort_letters(
        [second, first], {mark_key(0, 3)}, DeadLetterSelection(), max_original=MAX
    )

    assert sorting.replay == [second]
    assert sorting.already == [first]
    assert sorting.skipped == []


def test_put_back_in_dead_letter_order_and_only_the_selection() -> None:
    letters = [
        letter(enrolment_command(), place=(1, 2)),
        letter(enrolment_command(), place=(0, 5)),
        letter(enrolment_command(), place=(0, 1), reason=Reason.PROCESSING_FAILED),
        letter(enrolment_command(), place=(0, 2)),
    ]
    rejected = DeadLetterSelection(reasons=frozenset({Reason.DOTDIGITAL_REJECTED}))

    sorting = sort_letters(letters, set(), rejected, max_original=MAX)

    assert [(one.partition, one.offset) for one in sorting.replay] == [(0, 2), (0, 5), (1, 2)]


@pytest.mark.parametrize(
    ("source_topic", "detail", "original", "why"),
    [
        ("adobe_io delivery", "not JSON", b"{", "which no agent reads"),
        ("dotdigital.suppressions", "bad row", b"{}", "which no agent reads"),
        (TICKS, "processing failed", b"{}", "clock tick"),
        (ORDERS, "too big (original truncated from 300000 bytes)", b"{}", "was cut"),
        (ORDERS, "processing failed: a detail cut before the note", b"x" * MAX, "was cut"),
    ],
)
def test_dead_letters_that_cannot_go_back_whole_are_left_with_a_reason(
    source_topic: str, detail: str, original: bytes, why: str
) -> None:
    stuck = letter(original, source_topic=source_topic, detail=detail)

    sorting = sort_letters([stuck], set(), DeadLetterSelection(), max_original=MAX)

    ((left, text),) = sorting.skipped
    assert sorting.replay == []
    assert left is stuck
    assert why in text


def test_dead_letters_of_the_topics_agents_read_can_go_back() -> None:
    assert unfit(letter(enrolment_command()), max_original=MAX) is None
    assert unfit(letter(b"{}", source_topic=ORDERS), max_original=MAX) is None


def test_a_write_is_named_by_its_kind_subject_and_contact() -> None:
    assert subject(letter(enrolment_command())) == (
        "enrolment: order 000000004 (Roni_Cost@Example.com)"
    )
    assert subject(letter(b"{", source_topic=RAW, key="order:9")) == "order:9"
