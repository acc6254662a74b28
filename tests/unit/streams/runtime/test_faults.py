"""The agent boundary: which faults a record owns (dead-lettered, the agent goes on) and which
stop the worker, and what the dead letter and the log say of them."""

from __future__ import annotations

import asyncio
import logging
from decimal import InvalidOperation

import pytest
from aiokafka.errors import KafkaConnectionError
from faust.exceptions import ProducerSendError
from pydantic import BaseModel, ValidationError

from connectors.errors import FatalError, SkippableError
from schemas.contract.incidents import DeadLetter, Reason, SyncException
from streams.runtime.faults import (
    Record,
    contained,
    fault_detail,
    guarded,
    record_fault,
    stopping_on_fault,
)
from streams.runtime.incidents import Incidents
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic


class Contact(BaseModel):
    email: str
    visits: int


def validation_error() -> ValidationError:
    try:
        Contact.model_validate({"email": "ada@example.com", "visits": "ada@example.com"})
    except ValidationError as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "exc",
    [
        InvalidOperation(),
        OverflowError("cannot convert Infinity to integer"),
        TypeError("Integer exceeds 64-bit range"),
        AttributeError("'str' object has no attribute 'get'"),
        KeyError("entity_id"),
        RecursionError(),
        SkippableError("refused", status=400),
        ExceptionGroup("writes", [TypeError("x"), KeyError("y")]),
    ],
)
def test_a_records_own_faults_are_contained(exc: BaseException) -> None:
    assert record_fault(exc)


@pytest.mark.parametrize(
    "exc",
    [
        FatalError("401: check the API user"),
        KafkaConnectionError(),
        ProducerSendError("no leader"),
        TimeoutError(),
        asyncio.CancelledError(),
        KeyboardInterrupt(),
        ExceptionGroup("writes", [TypeError("x"), FatalError("401")]),
        BaseExceptionGroup("stop", [asyncio.CancelledError()]),
    ],
)
def test_faults_that_are_no_records_stop_the_worker(exc: BaseException) -> None:
    assert not record_fault(exc)


def test_the_detail_names_the_fault_shortly_with_emails_masked() -> None:
    detail = fault_detail(KeyError("ada@example.com " + "x" * 500))

    # KeyError quotes its message; a quote before the @ is masked as a quoted local part.
    assert detail.startswith("KeyError: '") and "@example.com xxx" in detail
    assert "ada@" not in detail
    assert len(detail) < 200 and detail.endswith("…")
    assert fault_detail(InvalidOperation()) == "InvalidOperation"


def test_a_group_of_faults_is_named_by_its_first() -> None:
    group = ExceptionGroup("task group", [ExceptionGroup("inner", [KeyError("sku")])])
    assert fault_detail(group) == "KeyError: 'sku'"


def test_a_validation_error_is_named_without_its_input_values() -> None:
    detail = fault_detail(validation_error())

    assert detail == "ValidationError: 1 problem(s) in Contact: int_parsing"


class Box:
    """Incidents over recorded topics."""

    def __init__(self) -> None:
        self.deadletter, self.exceptions = RecordingTopic(), RecordingTopic()
        self.incidents = Incidents(self.deadletter, self.exceptions)

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for _, v in self.deadletter.sent]


async def test_a_guarded_record_that_fails_is_dead_lettered_as_processing_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = Box()
    record = Record.of(consumed("commerce.orders.v1", b"{...}", key=b"ada@example.com", offset=7))

    async with guarded(box.incidents, record):
        record.subject, record.email = "order 000000003", "ada@example.com"
        raise AttributeError("'str' object has no attribute 'get' (ada@example.com)")

    [letter] = box.letters()
    [exception] = [SyncException.model_validate_json(v) for _, v in box.exceptions.sent]
    assert record.failed
    assert letter.reason is Reason.PROCESSING_FAILED
    assert letter.detail == (
        "processing failed: AttributeError: 'str' object has no attribute 'get' (a***@example.com)"
    )
    assert (letter.source_topic, letter.offset, letter.original()) == (
        "commerce.orders.v1",
        7,
        b"{...}",
    )
    assert (exception.reason, exception.subject) == (Reason.PROCESSING_FAILED, "order 000000003")
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and "Traceback" in logged[0].getMessage()
    assert "ada@example.com" not in "\n".join(r.getMessage() for r in caplog.records)


async def test_a_guarded_record_that_succeeds_leaves_no_trace() -> None:
    box = Box()
    record = Record.of(consumed("t", b"v"))

    async with guarded(box.incidents, record):
        pass

    assert not record.failed and box.deadletter.sent == []


@pytest.mark.parametrize(
    "exc", [FatalError("401"), KafkaConnectionError(), TimeoutError(), asyncio.CancelledError()]
)
async def test_a_fault_that_is_no_records_goes_through_the_guard(exc: BaseException) -> None:
    box = Box()
    record = Record.of(consumed("t", b"v"))

    with pytest.raises(type(exc)):
        async with guarded(box.incidents, record):
            raise exc

    assert not record.failed and box.deadletter.sent == []


async def test_contained_hands_the_fault_over_and_says_it_failed() -> None:
    seen: list[Exception] = []

    async def note(exc: Exception) -> None:
        seen.append(exc)

    async with contained(note) as outcome:
        raise OverflowError("cannot convert Infinity to integer")

    assert outcome.failed and [type(e) for e in seen] == [OverflowError]


class CrashingApp:
    """What a Faust app's `crash` was asked, in order."""

    def __init__(self) -> None:
        self.crashed: list[BaseException] = []

    async def crash(self, reason: BaseException) -> None:
        self.crashed.append(reason)


async def test_a_fault_that_escapes_a_batch_stops_the_worker() -> None:
    app = CrashingApp()
    gone = KafkaConnectionError("the broker went away")

    async def batch() -> None:
        raise gone

    with pytest.raises(KafkaConnectionError):
        await stopping_on_fault(app, batch())

    assert app.crashed == [gone]


async def test_a_batch_that_finishes_stops_nothing() -> None:
    app = CrashingApp()

    async def batch() -> None:
        return None

    await stopping_on_fault(app, batch())

    assert app.crashed == []
