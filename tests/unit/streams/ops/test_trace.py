"""A trace's verdict: reached or not, and where it stopped and why, from the steps alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.ops.trace import OK, PENDING, STOPPED, Step, trace

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


COMMERCE = Step("commerce", None, OK, "Commerce holds order 000000001")
DELIVERED = Step("delivered", at(0), OK, "sales_order_save_commit_after event e1")
NORMALIZED = Step("normalized", at(1), OK, "order 000000001: status pending")
JOINED = Step("joined", at(2), OK, "write issued on the batch lane: Orders record 000000001")
WRITTEN = Step("written", at(3), OK, "batch lane, insight import of 1 into Orders: accepted")


def test_an_order_dotdigital_holds_is_reached_with_its_last_write() -> None:
    found = trace("order 000000001", [WRITTEN, JOINED, COMMERCE, DELIVERED, NORMALIZED], [], True)

    assert found.reached
    assert found.verdict == "order 000000001 is in Dotdigital, last written 2026-03-01 09:03:00 UTC"
    assert [step.stage for step in found.steps] == [
        "commerce",
        "delivered",
        "normalized",
        "joined",
        "written",
    ]


def test_a_dead_letter_is_where_it_stopped_and_why() -> None:
    stop = Step("dead-lettered", at(1), STOPPED, "invalid_email: the address is not valid")

    found = trace("order 000000002", [COMMERCE, DELIVERED, stop], [], False)

    assert not found.reached
    assert found.verdict == (
        "order 000000002 has not reached Dotdigital: it stopped at dead-lettered: "
        "invalid_email: the address is not valid"
    )


def test_a_write_waiting_in_the_sink_says_so() -> None:
    found = trace("order 000000003", [COMMERCE, DELIVERED, NORMALIZED, JOINED], [], False)

    assert found.verdict.endswith(
        "its write is waiting in the sink: see the lanes and the Dotdigital budget"
    )


def test_a_refused_enrolment_in_the_same_batch_as_the_record_is_told_beside_it() -> None:
    # The Orders record and the enrolment settle together; only the enrolment was refused.
    enrolment = "order 000000004 (order_fulfilled)"
    written = Step(
        "written", at(3), OK, "insight import of 2 into Orders: accepted", "order 000000004"
    )
    refused = Step(
        "written", at(3), STOPPED, "enrolment into program 1: rejected (not active)", enrolment
    )
    excepted = Step("dead-lettered", at(2.9), STOPPED, "dotdigital_rejected: …", enrolment)

    found = trace("order 000000004", [JOINED, written, refused, excepted], [], True)

    assert found.reached
    assert "; but not all of it: written: enrolment into program 1: rejected" in found.verdict


def test_a_stop_made_good_by_a_later_write_of_the_same_record_is_no_longer_told() -> None:
    enrolment = "order 000000007 (order_fulfilled)"
    refused = Step("dead-lettered", at(3), STOPPED, "dotdigital_rejected: …", enrolment)
    replayed = Step("written", at(30), OK, "enrolment into program 1: accepted", enrolment)

    found = trace("order 000000007", [JOINED, WRITTEN, refused, replayed], [], True)

    assert "not all of it" not in found.verdict


def test_a_held_back_enrolment_does_not_stop_the_order() -> None:
    held = Step("refused", at(4), PENDING, "consent_gate: held back on purpose")

    found = trace("order 000000005", [JOINED, WRITTEN, held], [], True)

    assert found.verdict == "order 000000005 is in Dotdigital, last written 2026-03-01 09:03:00 UTC"


def test_nothing_received_says_to_look_at_the_webhook() -> None:
    found = trace("order 000000006", [COMMERCE], [], False)

    assert "has received no event for it yet" in found.verdict
