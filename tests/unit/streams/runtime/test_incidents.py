"""Dead letters keep what a replay needs; what an operator reads has its addresses masked."""

from __future__ import annotations

import orjson

from schemas.contract.incidents import DeadLetter, Reason, SyncException
from streams.runtime.incidents import MAX_DETAIL, MAX_MESSAGE, Incidents, readable
from streams.runtime.metrics import Metrics
from tests.support.topic import RecordingTopic

EMAIL = "jane.doe+vip@example.com"
ORIGINAL = orjson.dumps({"customer_email": EMAIL, "entity_id": 7})


async def test_a_dead_letter_keeps_original_and_key_but_masks_its_detail() -> None:
    deadletter, exceptions = RecordingTopic(), RecordingTopic()

    await Incidents(deadletter, exceptions).dead_letter(
        reason=Reason.INVALID_PAYLOAD,
        detail=f"customer {EMAIL} refused; also bob@shop.example",
        original=ORIGINAL,
        source_topic="commerce.orders.v1",
        key=EMAIL,
        subject=f"order 7 for {EMAIL}",
        email=EMAIL,
    )

    [(letter_key, letter_value)] = deadletter.sent
    letter = DeadLetter.model_validate_json(letter_value)
    assert letter.original() == ORIGINAL
    assert (letter_key, letter.key) == (EMAIL.encode(), EMAIL)
    assert letter.detail == "customer j***@example.com refused; also b***@shop.example"
    [(record_key, record_value)] = exceptions.sent
    record = SyncException.model_validate_json(record_value)
    assert (record_key, record.email) == (EMAIL.encode(), EMAIL)
    assert record.subject == "order 7 for j***@example.com"
    assert EMAIL not in record.message
    assert "bob@" not in record.message


async def test_without_a_key_the_records_are_keyed_by_the_masked_subject() -> None:
    deadletter, exceptions = RecordingTopic(), RecordingTopic()

    await Incidents(deadletter, exceptions).dead_letter(
        reason=Reason.MALFORMED_JSON,
        detail="not JSON",
        original=b"{",
        source_topic="commerce.raw.v1",
        key=None,
        subject=f"delivery from {EMAIL}",
    )

    assert deadletter.sent[0][0] == b"delivery from j***@example.com"
    assert exceptions.sent[0][0] == b"delivery from j***@example.com"


async def test_a_report_masks_subject_and_message_and_keeps_the_email_field() -> None:
    exceptions = RecordingTopic()

    await Incidents(RecordingTopic(), exceptions).report(
        reason=Reason.CONSENT_GATE,
        message=f"{EMAIL} has opted out",
        subject=f"contact {EMAIL}",
        email=EMAIL,
    )

    record = SyncException.model_validate_json(exceptions.sent[0][1])
    assert (record.subject, record.message) == (
        "contact j***@example.com",
        "j***@example.com has opted out",
    )
    assert record.email == EMAIL


def test_readable_masks_an_address_the_final_cut_would_split() -> None:
    text = "x" * (MAX_MESSAGE - 5) + " " + EMAIL

    assert readable(text, MAX_MESSAGE) == ("x" * (MAX_MESSAGE - 5) + " j***")
    assert len(readable("y" * 10 * MAX_DETAIL, MAX_DETAIL)) == MAX_DETAIL


async def test_dead_letters_and_reports_are_counted_by_reason_severity_and_topic() -> None:
    metrics = Metrics()
    incidents = Incidents(RecordingTopic(), RecordingTopic(), metrics)

    for _ in range(2):
        await incidents.dead_letter(
            reason=Reason.INVALID_EMAIL,
            detail="no @",
            original=b"{}",
            source_topic="commerce.raw.v1",
            key=None,
            subject="order 7",
        )
    await incidents.report(reason=Reason.CONSENT_GATE, message="opted out", subject="contact")

    registry = metrics.registry
    dead = {"reason": "invalid_email", "source_topic": "commerce.raw.v1"}
    assert registry.get_sample_value("cartwright_dead_letters_total", dead) == 2
    excepted = registry.get_sample_value
    assert (
        excepted("cartwright_exceptions_total", {"reason": "invalid_email", "severity": "error"})
        == 2
    )
    assert (
        excepted("cartwright_exceptions_total", {"reason": "consent_gate", "severity": "info"}) == 1
    )
