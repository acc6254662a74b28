"""The batch lane's writer: a batch of write commands → contacts (bulk), then insight imports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

import orjson

from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.imports import ImportHooks
from connectors.errors import SkippableError
from connectors.privacy import mask_email
from schemas.contract.incidents import Reason
from schemas.dotdigital.bodies import (
    CollectionScope,
    ContactImportReport,
    ContactUpsert,
    InsightImport,
    MergeOption,
)
from schemas.dotdigital.commands import WriteCommand
from schemas.dotdigital.journals.enrolments import Enrolment
from schemas.dotdigital.journals.imports import ImportKind
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import Waiting, retry_until_settled
from streams.sinks.consent_gate import ConsentGate
from streams.sinks.dotdigital.batch_plan import (
    BatchPlan,
    PlannedContact,
    PlannedEnrolment,
    PlannedRecord,
    plan_batch,
)
from streams.sinks.dotdigital.consent_writer import ConsentWriter
from streams.sinks.dotdigital.trail import Receipts
from streams.sinks.enrolment_ledger import EnrolmentLedger, interrupted
from streams.sinks.import_journal import ImportJournal

log = logging.getLogger(__name__)

Origin = TypeVar("Origin")
T = TypeVar("T")

RECORDS_PER_IMPORT = 10_000
CONTACTS_PER_IMPORT = 10_000
# Dotdigital takes imports up to 50 MB; stay well under it.
MAX_IMPORT_BYTES = 45 * 1024 * 1024
# Up to this many contacts a batch upserts them one by one (Medium tier) instead of importing.
SINGLE_UPSERTS_UP_TO = 3


@dataclass(frozen=True)
class Rejection(Generic[Origin]):
    """A command Dotdigital refused for good (or the consent gate held back), and why."""

    origin: Origin
    subject: str
    email: str | None
    detail: str
    reason: Reason = Reason.DOTDIGITAL_REJECTED


class BatchWriter:
    """Writes planned batches to Dotdigital; retriable errors wait, fatal errors propagate."""

    def __init__(
        self,
        client: DotdigitalClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        waiting: Waiting | None = None,
        poll_interval: float = 1.0,
        gate: ConsentGate | None = None,
        consent: ConsentWriter | None = None,
        ledger: EnrolmentLedger | None = None,
        receipts: Receipts | None = None,
        metrics: Metrics | None = None,
        imports: ImportJournal | None = None,
        partition_of: Callable[[Any], int] = lambda origin: 0,
    ) -> None:
        """`imports` journals this writer's imports and waits for those others left running
        from the partitions (`partition_of` an origin) of the commands it writes."""
        self._client = client
        self._sleep = sleep
        self._waiting = waiting
        self._poll_interval = poll_interval
        self.receipts = receipts or Receipts()
        self._gate = gate or ConsentGate()
        self._consent = consent or ConsentWriter(
            client, gate=self._gate, sleep=sleep, waiting=waiting
        )
        self._ledger = ledger or EnrolmentLedger()
        self._metrics = metrics or Metrics()
        self._imports = imports or ImportJournal()
        self._partition_of = partition_of

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_until_settled(call, self._sleep, self._waiting)

    async def write(
        self, commands: Sequence[tuple[WriteCommand, Origin]]
    ) -> list[Rejection[Origin]]:
        """Write everything Dotdigital will accept; return what it refused for good."""
        # An import another worker left running from these partitions could land after us.
        await self._imports.clear(
            self._client,
            {self._partition_of(origin) for _, origin in commands},
            poll_interval=self._poll_interval,
        )
        plan = plan_batch(commands)
        renames = [c for c in plan.contacts.values() if c.previous_email]
        leaving = {c.previous_email for c in renames}
        rejections = await self._upsert_contacts(plan)
        refused: set[str | None] = {r.email for r in rejections if r.email is not None}
        # An email change renames the contact, which only a single PATCH can do, and only after
        # whatever this batch writes under the old address (a credit memo on an order placed
        # before the change); records under every other address follow the renames.
        rejections += await self._records(plan, refused, lambda email: email in leaving)
        rejections += await self._patch_contacts(renames)
        # Contacts refused so far; an account record's refusal (no email) refuses no other.
        refused = {r.email for r in rejections if r.email is not None}
        rejections += await self._records(plan, refused, lambda email: email not in leaving)
        rejections.extend(await self._enrol(plan, refused))
        for write, origin in plan.consents:
            # Consent commands belong on the realtime lane; one sent here is still carried.
            try:
                held = await self._consent.write(write)
            except SkippableError as exc:
                held = None
                rejections.append(Rejection(origin, write.subject, write.email, words(exc)))
            if held is not None:
                rejections.append(
                    Rejection(origin, write.subject, write.email, held, Reason.CONSENT_GATE)
                )
            self.receipts.note([origin], f"consent {write.action}")
        return rejections

    async def _records(
        self, plan: BatchPlan[Origin], refused: set[str | None], owned: Callable[[str | None], bool]
    ) -> list[Rejection[Origin]]:
        """The batch's insight records whose owner `owned` picks, per collection; records of a
        refused contact are refused with it."""
        rejections: list[Rejection[Origin]] = []
        for (collection, collection_type), planned in plan.collections().items():
            mine = [record for record in planned if owned(record.write.email)]
            for record in mine:
                if record.write.email in refused:
                    rejections.extend(
                        _reject(
                            record,
                            "its contact was refused by Dotdigital, see the contact's exception",
                        )
                    )
            writable = [record for record in mine if record.write.email not in refused]
            for chunk in import_chunks(writable):
                rejections.extend(await self._import(collection, collection_type, chunk))
        return rejections

    async def _enrol(
        self, plan: BatchPlan[Origin], refused: set[str | None]
    ) -> list[Rejection[Origin]]:
        """Post-purchase enrolments go last: their contacts and records are in by then."""
        rejections: list[Rejection[Origin]] = []
        by_program: dict[int, list[tuple[int, PlannedEnrolment[Origin]]]] = {}
        for (program_id, email), planned in plan.enrolments.items():
            if email in refused:
                rejections.extend(_refuse(planned, "its contact was refused by Dotdigital"))
                continue
            held = self._gate.enrolment(email)
            contact = None
            if held is None:
                contact = await self._retrying(partial(self._client.get_contact, email))
                if contact is None:
                    rejections.extend(_refuse(planned, "the contact does not exist in Dotdigital"))
                    continue
                # Asked again: the table may have changed while Dotdigital answered.
                held = self._gate.enrolment(email, contact.status)
            if held is not None or contact is None:
                rejections.extend(
                    Rejection(origin, planned.write.subject, email, held or "", Reason.CONSENT_GATE)
                    for origin in planned.origins
                )
                continue
            by_program.setdefault(program_id, []).append((contact.contact_id, planned))
        for program_id, members in by_program.items():
            rejections.extend(await self._enrol_once(program_id, members))
        return rejections

    async def _enrol_once(
        self, program_id: int, members: list[tuple[int, PlannedEnrolment[Origin]]]
    ) -> list[Rejection[Origin]]:
        """One program's enrolments, each subject sent at most once (see the enrolment ledger)."""
        origins: dict[Enrolment, list[Origin]] = {}
        contacts: dict[Enrolment, tuple[int, PlannedEnrolment[Origin]]] = {}
        for contact_id, planned in members:
            for subject, asked in planned.subjects.items():
                enrolment = Enrolment(planned.write.email, program_id, subject)
                origins[enrolment] = asked
                contacts[enrolment] = (contact_id, planned)
        sorting = await self._ledger.sort(list(origins))
        rejections = [
            Rejection(
                origin,
                enrolment.subject,
                enrolment.email,
                interrupted(enrolment),
                Reason.ENROLMENT_INTERRUPTED,
            )
            for enrolment in sorting.interrupted
            for origin in origins[enrolment]
        ]
        for enrolment in sorting.done:
            log.info(
                "enrolment already done, not sent again: %s into %d for %s",
                mask_email(enrolment.email),
                program_id,
                enrolment.subject,
            )
        sending = {contacts[enrolment][0]: contacts[enrolment][1] for enrolment in sorting.send}
        if not sending:
            return rejections
        event_id = next(iter(sending.values())).write.source_event_id
        self.receipts.note(
            (origin for enrolment in sorting.send for origin in origins[enrolment]),
            f"enrolment of {len(sending)} contact(s) into program {program_id}",
        )
        try:
            await self._ledger.once(
                sorting.send,
                event_id,
                lambda: self._retrying(partial(self._client.enrol, program_id, list(sending))),
            )
        except SkippableError as exc:
            for planned in sending.values():
                rejections.extend(_refuse(planned, words(exc)))
        return rejections

    async def _upsert_contacts(self, plan: BatchPlan[Origin]) -> list[Rejection[Origin]]:
        """Contacts that are not renamed: a few one by one, more as one bulk import (one Low-tier
        call)."""
        if not plan.contacts:
            return []
        contacts = [c for c in plan.contacts.values() if not c.previous_email]
        if len(contacts) <= SINGLE_UPSERTS_UP_TO:
            return await self._patch_contacts(contacts)
        return await self._import_all(contacts)

    async def _import_all(self, contacts: list[PlannedContact[Origin]]) -> list[Rejection[Origin]]:
        rejections: list[Rejection[Origin]] = []
        for start in range(0, len(contacts), CONTACTS_PER_IMPORT):
            chunk = contacts[start : start + CONTACTS_PER_IMPORT]
            upserts = [ContactUpsert(email=c.email, data_fields=c.data_fields) for c in chunk]
            hooks = self._import_hooks(ImportKind.CONTACTS, (o for c in chunk for o in c.origins))
            try:
                report = await self._retrying(partial(self._import_contacts, upserts, hooks))
            except SkippableError as exc:
                self._metrics.imported(len(chunk), len(chunk))
                rejections.extend(
                    Rejection(origin, f"contact {c.email}", c.email, words(exc))
                    for c in chunk
                    for origin in c.origins
                )
                continue
            self._metrics.imported(len(chunk), len(report.failures))
            self.receipts.note(
                (origin for c in chunk for origin in c.origins),
                f"contact import of {len(chunk)}",
                report.import_id,
            )
            by_email = {c.email: c for c in chunk}
            for failure in report.failures:
                email = str(failure.identifiers.get("email", "")).strip().lower()
                contact = by_email.get(email)
                if contact is None:
                    continue
                reasons = "; ".join(
                    f"{f.get('failureCode', 'failed')}: {f.get('description', '')}".rstrip(": ")
                    for f in failure.failures
                )
                detail = f"Dotdigital rejected the contact: {reasons or 'no reason given'}"
                rejections.extend(
                    Rejection(origin, f"contact {email}", email, detail)
                    for origin in contact.origins
                )
        return rejections

    async def _import_contacts(
        self, upserts: list[ContactUpsert], hooks: ImportHooks
    ) -> ContactImportReport:
        return await self._client.run_contact_import(
            upserts, MergeOption.OVERWRITE, poll_interval=self._poll_interval, hooks=hooks
        )

    def _import_hooks(self, kind: ImportKind, origins: Iterable[Any]) -> ImportHooks:
        return self._imports.hooks(kind, {self._partition_of(origin) for origin in origins})

    async def _patch_contacts(
        self, contacts: list[PlannedContact[Origin]]
    ) -> list[Rejection[Origin]]:
        rejections: list[Rejection[Origin]] = []

        async def upsert(contact: PlannedContact[Origin]) -> None:
            email, origins = contact.email, contact.origins
            self.receipts.note(
                origins, "contact rename" if contact.previous_email else "contact upsert"
            )
            upsert = ContactUpsert(
                email=email, previous_email=contact.previous_email, data_fields=contact.data_fields
            )
            try:
                try:
                    await self._retrying(
                        lambda: self._client.upsert_contact(upsert, MergeOption.OVERWRITE)
                    )
                except SkippableError as exc:
                    if exc.status != 409 or upsert.previous_email is None:
                        raise
                    # Both addresses already have a contact: update the new one in place.
                    plain = upsert.model_copy(update={"previous_email": None})
                    await self._retrying(
                        lambda: self._client.upsert_contact(plain, MergeOption.OVERWRITE)
                    )
            except SkippableError as exc:
                log.warning("contact refused: %s", mask_email(email), extra={"code": exc.code})
                rejections.extend(
                    Rejection(origin, f"contact {email}", email, words(exc)) for origin in origins
                )

        async with asyncio.TaskGroup() as group:
            for contact in contacts:
                group.create_task(upsert(contact))
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
        hooks = self._import_hooks(ImportKind.INSIGHT, (o for r in chunk for o in r.origins))
        try:
            report = await self._retrying(
                lambda: self._client.run_insight_import(
                    batch, poll_interval=self._poll_interval, hooks=hooks
                )
            )
        except SkippableError as exc:
            self._metrics.imported(len(chunk), len(chunk))
            return [rejection for record in chunk for rejection in _reject(record, words(exc))]
        self._metrics.imported(len(chunk), len(report.failures))
        self.receipts.note(
            (origin for record in chunk for origin in record.origins),
            f"insight import of {len(chunk)} into {collection}",
            report.import_id,
        )
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


def _refuse(planned: PlannedEnrolment[Origin], detail: str) -> list[Rejection[Origin]]:
    write = planned.write
    return [
        Rejection(origin, write.subject, write.email, f"enrolment: {detail}")
        for origin in planned.origins
    ]


def _reject(record: PlannedRecord[Origin], detail: str) -> list[Rejection[Origin]]:
    return [
        Rejection(origin, record.write.subject, record.write.email, detail)
        for origin in record.origins
    ]


def words(exc: SkippableError) -> str:
    parts = [f"Dotdigital answered {exc.status}" if exc.status else "Dotdigital refused"]
    if exc.code:
        parts.append(exc.code)
    if exc.description:
        parts.append(exc.description)
    return ": ".join(parts)


def import_chunks(records: Sequence[PlannedRecord[Origin]]) -> list[list[PlannedRecord[Origin]]]:
    """Split records into imports under the record count and the byte cap."""
    chunks: list[list[PlannedRecord[Origin]]] = []
    current: list[PlannedRecord[Origin]] = []
    size = 0
    for record in records:
        record_size = len(orjson.dumps(record.write.record.wire())) + 1
        if current and (
            len(current) >= RECORDS_PER_IMPORT or size + record_size > MAX_IMPORT_BYTES
        ):
            chunks.append(current)
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        chunks.append(current)
    return chunks
