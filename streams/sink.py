"""The Dotdigital sink: a batch of write commands → contact upserts, then insight imports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.retry import with_retries
from connectors.errors import FatalError, SkippableError
from connectors.privacy import mask_email
from schemas.commands import WriteCommand
from schemas.dotdigital import (
    CollectionScope,
    ContactUpsert,
    InsightImport,
    MergeOption,
)
from schemas.incidents import Reason
from streams.batch import BatchPlan, PlannedRecord, plan_batch
from streams.incidents import Incidents
from streams.metrics import Metrics
from streams.topics import WRITES, TopicSet

log = logging.getLogger(__name__)

Origin = TypeVar("Origin")
T = TypeVar("T")

RECORDS_PER_IMPORT = 1000
CONCURRENT_UPSERTS = 4
# Retriable failures are retried for as long as it takes: the partition waits, nothing is dropped.
RETRY_ATTEMPTS = 1_000_000
RETRY_BASE_DELAY = 1.0
RETRY_MAX_DELAY = 60.0


@dataclass(frozen=True)
class Rejection(Generic[Origin]):
    """A command Dotdigital refused for good, and its words for why."""

    origin: Origin
    subject: str
    email: str | None
    detail: str


class Sink:
    """Writes planned batches to Dotdigital; retriable errors wait, fatal errors propagate."""

    def __init__(
        self,
        client: DotdigitalClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 1.0,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._poll_interval = poll_interval

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(
            call,
            attempts=RETRY_ATTEMPTS,
            base_delay=RETRY_BASE_DELAY,
            max_delay=RETRY_MAX_DELAY,
            sleep=self._sleep,
        )

    async def write(
        self, commands: Sequence[tuple[WriteCommand, Origin]]
    ) -> list[Rejection[Origin]]:
        """Write everything Dotdigital will accept; return what it refused for good."""
        plan = plan_batch(commands)
        rejections = await self._upsert_contacts(plan)
        refused = {rejection.email for rejection in rejections}
        for (collection, collection_type), planned in plan.collections().items():
            orphans = [record for record in planned if record.write.email in refused]
            for record in orphans:
                rejections.extend(
                    _reject(
                        record, "its contact was refused by Dotdigital, see the contact's exception"
                    )
                )
            writable = [record for record in planned if record.write.email not in refused]
            for start in range(0, len(writable), RECORDS_PER_IMPORT):
                chunk = writable[start : start + RECORDS_PER_IMPORT]
                rejections.extend(await self._import(collection, collection_type, chunk))
        return rejections

    async def _upsert_contacts(self, plan: BatchPlan[Origin]) -> list[Rejection[Origin]]:
        gate = asyncio.Semaphore(CONCURRENT_UPSERTS)
        rejections: list[Rejection[Origin]] = []

        async def upsert(email: str, fields: dict[str, object], origins: list[Origin]) -> None:
            upsert = ContactUpsert(email=email, data_fields=fields)
            async with gate:
                try:
                    await self._retrying(
                        lambda: self._client.upsert_contact(upsert, MergeOption.OVERWRITE)
                    )
                except SkippableError as exc:
                    log.warning("contact refused: %s", mask_email(email), extra={"code": exc.code})
                    rejections.extend(
                        Rejection(origin, f"contact {email}", email, _words(exc))
                        for origin in origins
                    )

        async with asyncio.TaskGroup() as group:
            for contact in plan.contacts.values():
                group.create_task(upsert(contact.email, contact.data_fields, contact.origins))
        return rejections

    async def _import(
        self, collection: str, collection_type: str, chunk: list[PlannedRecord[Origin]]
    ) -> list[Rejection[Origin]]:
        scope = CollectionScope.CONTACT if chunk[0].write.email else CollectionScope.ACCOUNT
        batch = InsightImport(
            collection_name=collection,
            collection_scope=scope,
            collection_type=collection_type,
            records=[record.write.record for record in chunk],
        )
        try:
            report = await self._retrying(
                lambda: self._client.run_insight_import(batch, poll_interval=self._poll_interval)
            )
        except SkippableError as exc:
            return [rejection for record in chunk for rejection in _reject(record, _words(exc))]
        by_key = {record.write.record.key: record for record in chunk}
        rejections: list[Rejection[Origin]] = []
        for failure in report.failures:
            record = by_key.get(failure.key or "")
            if record is None:
                continue
            details = "; ".join(str(detail) for detail in failure.details)
            reason = f"Dotdigital rejected the record: {failure.failure_reason}"
            rejections.extend(_reject(record, f"{reason} ({details})" if details else reason))
        log.info(
            "insight import finished",
            extra={"collection": collection, "records": len(chunk), "rejected": len(rejections)},
        )
        return rejections


def _reject(record: PlannedRecord[Origin], detail: str) -> list[Rejection[Origin]]:
    return [
        Rejection(origin, record.write.subject, record.write.email, detail)
        for origin in record.origins
    ]


def _words(exc: SkippableError) -> str:
    parts = [f"Dotdigital answered {exc.status}" if exc.status else "Dotdigital refused"]
    if exc.code:
        parts.append(exc.code)
    if exc.description:
        parts.append(exc.description)
    return ": ".join(parts)


@dataclass(frozen=True)
class Consumed:
    """Where a write command came from, so a refusal can be dead-lettered with its bytes."""

    value: bytes
    key: str
    partition: int
    offset: int
    event_id: str


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    client_factory: Callable[[], DotdigitalClient],
    *,
    batch_size: int,
    batch_interval: float,
    discover_region: bool,
    metrics: Metrics,
) -> Any:
    """Declare the sink agent: offsets advance only once Dotdigital accepted or we dead-lettered."""

    async def drain(stream: Any, client: DotdigitalClient) -> None:
        if discover_region:
            await with_retries(
                client.discover_region,
                attempts=RETRY_ATTEMPTS,
                base_delay=RETRY_BASE_DELAY,
                max_delay=RETRY_MAX_DELAY,
                sleep=asyncio.sleep,
            )
        writer = Sink(client)
        async for events in stream.noack_take(batch_size, within=batch_interval):
            commands = await _commands(events, incidents)
            rejections = await writer.write(commands)
            for rejection in rejections:
                await incidents.dead_letter(
                    reason=Reason.DOTDIGITAL_REJECTED,
                    detail=rejection.detail,
                    original=rejection.origin.value,
                    source_topic=WRITES,
                    key=rejection.origin.key,
                    subject=rejection.subject,
                    email=rejection.email,
                    partition=rejection.origin.partition,
                    offset=rejection.origin.offset,
                    event_id=rejection.origin.event_id,
                )
            metrics.add("sink.commands", len(commands))
            metrics.add("sink.rejected", len(rejections))
            for event in events:
                await stream.ack(event)

    @app.agent(topics.writes, name="sink")
    async def sink(stream: Any) -> None:
        async with client_factory() as client:
            try:
                await drain(stream, client)
            except FatalError as exc:
                # Nothing of the batch in hand was acknowledged, so nothing is committed for it.
                log.critical("Dotdigital refuses every call, stopping the worker: %s", exc)
                await app.crash(exc)

    return sink


async def _commands(
    events: Sequence[Any], incidents: Incidents
) -> list[tuple[WriteCommand, Consumed]]:
    """Decode a batch; anything that is not a v1 write command is dead-lettered."""
    commands: list[tuple[WriteCommand, Consumed]] = []
    for event in events:
        key = (event.key or b"").decode(errors="replace")
        try:
            command = WriteCommand.model_validate_json(event.value)
        except ValidationError as exc:
            await incidents.dead_letter(
                reason=Reason.INVALID_PAYLOAD,
                detail=f"not a v1 write command: {exc.error_count()} problem(s)",
                original=event.value,
                source_topic=WRITES,
                key=key,
                subject=f"{WRITES} record {event.message.offset}",
                partition=event.message.partition,
                offset=event.message.offset,
            )
            continue
        origin = Consumed(
            event.value,
            key,
            event.message.partition,
            event.message.offset,
            command.command.source_event_id,
        )
        commands.append((command, origin))
    return commands
