"""The realtime lane's writer: single upserts, one call each, in order per contact."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import SkippableError
from schemas.contract.incidents import Reason
from schemas.dotdigital.bodies import CollectionScope, ContactUpsert, InsightImport, MergeOption
from schemas.dotdigital.commands import (
    ConsentWrite,
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    WriteCommand,
)
from schemas.dotdigital.journals.enrolments import Enrolment
from streams.runtime.retrying import Waiting, retry_until_settled
from streams.sinks.consent_gate import ConsentGate
from streams.sinks.dotdigital.batch_writer import Rejection, words
from streams.sinks.dotdigital.consent_writer import ConsentWriter
from streams.sinks.dotdigital.trail import Receipts, call_of
from streams.sinks.enrolment_ledger import EnrolmentLedger, interrupted

log = logging.getLogger(__name__)

# A single record PUT needs its collection; only an import creates one (e.g. `CartInsight`
# before the first abandoned cart of an account).
COLLECTION_NOT_FOUND = "insightData:collectionNotFound"

Origin = TypeVar("Origin")


class RealtimeWriter:
    """Writes each command as soon as it comes: a contact PATCH or a single record PUT."""

    def __init__(
        self,
        client: DotdigitalClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        waiting: Waiting | None = None,
        gate: ConsentGate | None = None,
        consent: ConsentWriter | None = None,
        ledger: EnrolmentLedger | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._waiting = waiting
        self.receipts = receipts or Receipts()
        self._gate = gate or ConsentGate()
        self._consent = consent or ConsentWriter(
            client, gate=self._gate, sleep=sleep, waiting=waiting
        )
        self._ledger = ledger or EnrolmentLedger()

    async def write(
        self, commands: Sequence[tuple[WriteCommand, Origin]]
    ) -> list[Rejection[Origin]]:
        """Commands for one email go in order; different emails go at once."""
        by_email: dict[str, list[tuple[WriteCommand, Origin]]] = {}
        for command, origin in commands:
            by_email.setdefault(_key(command), []).append((command, origin))
        rejections: list[Rejection[Origin]] = []

        async def in_order(sequence: list[tuple[WriteCommand, Origin]]) -> None:
            for command, origin in sequence:
                rejection = await self._one(command, origin)
                if rejection is not None:
                    rejections.append(rejection)

        async with asyncio.TaskGroup() as group:
            for sequence in by_email.values():
                group.create_task(in_order(sequence))
        return rejections

    async def _one(self, envelope: WriteCommand, origin: Origin) -> Rejection[Origin] | None:
        command = envelope.command
        self.receipts.note([origin], call_of(envelope))
        if isinstance(command, ConsentWrite | EnrolmentWrite):
            try:
                if isinstance(command, ConsentWrite):
                    refusal = await self._consent.write(command)
                else:
                    refusal = self._gate.enrolment(command.email)
            except SkippableError as exc:
                return Rejection(origin, command.subject, command.email, words(exc))
            if refusal is not None:
                return Rejection(
                    origin, command.subject, command.email, refusal, Reason.CONSENT_GATE
                )
            if isinstance(command, ConsentWrite):
                return None
            enrolment = Enrolment(command.email, command.program_id, command.subject)
            sorting = await self._ledger.sort([enrolment])
            if sorting.interrupted:
                return Rejection(
                    origin,
                    command.subject,
                    command.email,
                    interrupted(enrolment),
                    Reason.ENROLMENT_INTERRUPTED,
                )
            if sorting.done:
                return None  # enrolled before: a redelivery or a replay

        async def call() -> object:
            if isinstance(command, ContactWrite):
                upsert = ContactUpsert(
                    email=command.email,
                    previous_email=command.previous_email,
                    data_fields=command.data_fields,
                )
                return await self._client.upsert_contact(upsert, MergeOption.OVERWRITE)
            if isinstance(command, EnrolmentWrite):
                contact = await self._client.get_contact(command.email)
                if contact is None:
                    raise SkippableError("no such contact to enrol", status=404)
                refused = self._gate.enrolment(command.email, contact.status)
                if refused is not None:
                    return refused
                enrolment = Enrolment(command.email, command.program_id, command.subject)
                return await self._ledger.once(
                    [enrolment],
                    command.source_event_id,
                    lambda: self._client.enrol(command.program_id, [contact.contact_id]),
                )
            try:
                return await self._client.put_insight_record(
                    command.collection,
                    command.record.key,
                    command.record.json_,
                    email=command.email,
                )
            except SkippableError as exc:
                if exc.code != COLLECTION_NOT_FOUND:
                    raise
                return await self._first_of_collection(command)

        try:
            done = await retry_until_settled(call, self._sleep, self._waiting)
        except SkippableError as exc:
            if isinstance(command, ContactWrite):
                return Rejection(origin, f"contact {command.email}", command.email, words(exc))
            return Rejection(origin, command.subject, command.email, words(exc))
        if isinstance(command, EnrolmentWrite) and isinstance(done, str):
            return Rejection(origin, command.subject, command.email, done, Reason.CONSENT_GATE)
        return None

    async def _first_of_collection(self, command: InsightWrite) -> object:
        """The record as a one-record import, which creates its collection."""
        scope = CollectionScope.CONTACT if command.email else CollectionScope.ACCOUNT
        batch = InsightImport(
            collection_name=command.collection,
            collection_scope=scope,
            collection_type=command.collection_type,
            records=[command.record],
        )
        report = await self._client.run_insight_import(batch, poll_interval=0.5)
        if report.failures:
            failure = report.failures[0]
            raise SkippableError(
                f"import refused the record: {failure.failure_reason}", status=None
            )
        log.info("insight collection created by import", extra={"collection": command.collection})
        return True


def _key(envelope: WriteCommand) -> str:
    command = envelope.command
    if isinstance(command, ContactWrite | EnrolmentWrite | ConsentWrite) or command.email:
        return command.email or ""
    return f"{command.collection}/{command.record.key}"


def lane_keys(commands: Sequence[tuple[WriteCommand, object]]) -> set[str]:
    """What a batch writes to, for ordering batches that share a contact or an account record
    (a rename touches the contact under both its addresses)."""
    keys = {_key(command) for command, _ in commands}
    keys.update(
        command.command.previous_email
        for command, _ in commands
        if isinstance(command.command, ContactWrite) and command.command.previous_email
    )
    return keys
