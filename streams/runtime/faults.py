"""The agent boundary: a fault of one record's own is dead-lettered and logged, and the agent
goes on; a fault that is no record's (a refused account, the broker) still stops the worker."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from pydantic import ValidationError

from connectors.errors import FatalError
from connectors.privacy import redact_emails
from schemas.contract.incidents import Reason
from streams.runtime.incidents import Incidents

log = logging.getLogger(__name__)

# Faults that are no record's fault: dead-lettering record after record for them would empty
# the topic, so they propagate and stop the worker loudly. Retriable connector errors never get
# here (they are retried until settled); asyncio.CancelledError is no Exception and passes too.
NOT_A_RECORD_FAULT: tuple[type[BaseException], ...] = (
    FatalError,
    KafkaError,
    ProducerSendError,
    TimeoutError,
)
_MESSAGE = 160


def record_fault(exc: BaseException) -> bool:
    """Whether `exc` is the record's own fault (a group: whether all of its faults are)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(record_fault(inner) for inner in exc.exceptions)
    return isinstance(exc, Exception) and not isinstance(exc, NOT_A_RECORD_FAULT)


def fault_detail(exc: BaseException) -> str:
    """A fault in a dead letter's words: its type and a short message, emails masked (and no
    input values of a validation error: they may be anyone's name or address). A group of
    faults (a task group's) is named by its first."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, ValidationError):
        kinds = ", ".join(sorted({error["type"] for error in exc.errors()}))
        return f"ValidationError: {exc.error_count()} problem(s) in {exc.title}: {kinds}"
    message = redact_emails(" ".join(str(exc).split()))
    if len(message) > _MESSAGE:
        message = message[: _MESSAGE - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def traced(exc: BaseException) -> str:
    """`exc`'s traceback as a log may hold it: emails masked."""
    return redact_emails("".join(traceback.format_exception(exc)).rstrip())


@dataclass
class Contained:
    """Whether the work in an `async with contained(…)` block failed (and was contained)."""

    failed: bool = False


@asynccontextmanager
async def contained(
    on_fault: Callable[[Exception], Awaitable[None]],
) -> AsyncIterator[Contained]:
    """Run a block; a record's own fault is handed to `on_fault` and goes no further."""
    outcome = Contained()
    try:
        yield outcome
    # The one broad catch: at an agent's per-record boundary no record may stop the agent.
    except Exception as exc:
        if not record_fault(exc):
            raise
        outcome.failed = True
        await on_fault(exc)


async def stopping_on_fault(app: Any, batch: Awaitable[None]) -> None:
    """Do an agent's `batch`; a fault that escapes it is no record's own (those are
    dead-lettered inside), so it stops the worker, loudly. The batch is then never
    acknowledged (`finished_batches`) and comes again after the restart, where Faust would
    otherwise start the agent anew past it, and commit what came after."""
    try:
        await batch
    # The agent's last resort: whatever escapes a batch stops the worker.
    except Exception as exc:
        log.error("%s: the worker stops; the unfinished batch comes again", fault_detail(exc))
        await app.crash(exc)
        raise


@dataclass
class Record:
    """A consumed record in hand, as its dead letter would name it should processing fail.

    The subject, event id and email may be filled in as processing learns them."""

    value: bytes
    source_topic: str
    key: str | None
    partition: int | None
    offset: int | None
    subject: str
    event_id: str | None = None
    email: str | None = None
    failed: bool = False

    @classmethod
    def of(cls, event: Any) -> Record:
        """A consumed Faust event."""
        message = event.message
        return cls(
            value=event.value,
            source_topic=message.topic,
            key=(event.key or b"").decode(errors="replace"),
            partition=message.partition,
            offset=message.offset,
            subject=f"{message.topic} record {message.offset}",
        )


async def processing_failed(incidents: Incidents, record: Record, exc: BaseException) -> None:
    """Dead-letter `record` as `processing_failed`, its traceback in the log (emails masked)."""
    detail = fault_detail(exc)
    trace = traced(exc)
    log.error(
        "processing %s failed, dead-lettering it: %s\n%s",
        redact_emails(record.subject),
        detail,
        trace,
        extra={
            "topic": record.source_topic,
            "partition": record.partition,
            "offset": record.offset,
        },
    )
    await incidents.dead_letter(
        reason=Reason.PROCESSING_FAILED,
        detail=f"processing failed: {detail}",
        original=record.value,
        source_topic=record.source_topic,
        key=record.key,
        subject=record.subject,
        email=record.email,
        partition=record.partition,
        offset=record.offset,
        event_id=record.event_id,
    )


@asynccontextmanager
async def guarded(incidents: Incidents, record: Record) -> AsyncIterator[Record]:
    """Process one record: should it fail for a reason of its own, it is dead-lettered as
    `processing_failed`, `record.failed` is set, and the agent goes on with the next one."""

    async def dead_letter(exc: Exception) -> None:
        record.failed = True
        await processing_failed(incidents, record, exc)

    async with contained(dead_letter):
        yield record
