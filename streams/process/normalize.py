"""The normalize agent: raw Adobe envelopes → the normalized topics (orders, customers, carts …)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pydantic import ValidationError

from schemas.commerce.customers import CommerceCustomer
from schemas.commerce.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    QUOTE_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
    CloudEvent,
)
from schemas.commerce.numbers import NumberOutOfRange, shown
from schemas.commerce.quotes import CommerceQuote
from schemas.contract.carts import CartUpdated
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, NormalizedEvent, OrderUpdated
from schemas.contract.received import next_hop
from schemas.contract.refunds import RefundRecorded
from schemas.contract.replay import IndexBlock, replay_run
from schemas.contract.topics import RAW
from schemas.email import InvalidEmail
from schemas.normalize.carts import cart_updated
from schemas.normalize.consent import from_customer, from_subscriber
from schemas.normalize.customers import customer_updated
from schemas.replay.time_index import DEFAULT_BLOCK_SIZE, TimeIndexer
from schemas.replay.window import event_time, raw_event_time
from schemas.rules.order_facts import (
    OrderFacts,
    fold_creditmemo,
    fold_order,
    fold_shipment,
    restated,
)
from streams.runtime.application import finished_batches
from streams.runtime.faults import Record, guarded, stopping_on_fault
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table, put
from streams.runtime.topics import BATCH_RECORDS, BATCH_SECONDS, TopicSet, encoded

log = logging.getLogger(__name__)

# Index blocks on their way to the broker at most; one more waits for the first of them. Blocks
# go one per `block_size` records of a partition, so this bounds memory, not throughput.
MAX_BLOCKS_IN_FLIGHT = 16


class Unprocessable(Exception):
    """A raw event that cannot be normalized; it is dead-lettered with `reason`."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class NotUsed(Exception):
    """An event type Cartwright does not use (yet): it stays on the raw topic, nothing is lost."""


def _validation_detail(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()[:5]
    ]
    return "payload not understood: " + "; ".join(problems)


def _out_of_range(exc: ValidationError) -> str | None:
    """The first number no Commerce column holds, naming its field and (shortened) value."""
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, NumberOutOfRange):
            where = ".".join(str(part) for part in error["loc"]) or "payload"
            return f"number out of range: {where} = {cause}"
    return None


def read_envelope(value: bytes) -> CloudEvent:
    try:
        return CloudEvent.model_validate_json(value)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise Unprocessable(Reason.MALFORMED_JSON, "not JSON") from exc
        raise Unprocessable(Reason.INVALID_ENVELOPE, _validation_detail(exc)) from exc


def subject_of(event: CloudEvent) -> str:
    value = event.data.value
    number = value.get("increment_id")
    if event.type == ORDER_SAVED:
        return f"order {_named(number or value.get('entity_id'))}"
    if event.type == SHIPMENT_SAVED:
        return f"shipment {_named(number)} of order entity {_named(value.get('order_id'))}"
    if event.type == CREDITMEMO_SAVED:
        return f"credit memo {_named(number)} of order entity {_named(value.get('order_id'))}"
    if event.type == CUSTOMER_SAVED:
        return f"customer {_named(value.get('id') or value.get('entity_id'))}"
    if event.type == QUOTE_SAVED:
        return f"cart {_named(value.get('entity_id') or value.get('id'))}"
    if event.type == SUBSCRIBER_SAVED:
        return f"newsletter subscriber {_named(value.get('subscriber_id'))}"
    return f"event {_named(event.eventid)} ({_named(event.type)})"


def _named(value: Any) -> str:
    """A number or id as a subject names it: short, whatever the payload put there."""
    return "None" if value is None else shown(value)


class Normalizer:
    """Folds one raw event into the order facts table and says what to publish."""

    def __init__(self, order_facts: Any) -> None:
        self._facts = order_facts
        # Between open_batch and close_batch: the facts kept, with their changelog partitions.
        self._batch: dict[bytes, tuple[bytes, int | None]] | None = None

    def _load(self, key: bytes) -> OrderFacts | None:
        if self._batch is not None and key in self._batch:
            stored: bytes | None = self._batch[key][0]
        else:
            stored = self._facts.get(key)
        return OrderFacts.model_validate_json(stored) if stored else None

    def apply(self, key: bytes, event: CloudEvent) -> list[NormalizedEvent | ConsentChanged]:
        """The normalized events to publish, if this raw event changed anything."""
        facts, events = self.fold(key, event)
        self.keep(key, facts)
        return events

    def keep(self, key: bytes, facts: bytes | None, partition: int | None = None) -> None:
        """Store what `fold` said the order facts now are (None: nothing to store); in a
        batch, once it closes, on the changelog `partition` (the raw event's)."""
        if facts is None:
            return
        if self._batch is not None:
            self._batch[key] = (facts, partition)
        else:
            self._facts[key] = facts

    def open_batch(self) -> None:
        """From now on, what is kept waits for `close_batch` (and later folds see it)."""
        self._batch = {}

    def close_batch(self) -> None:
        """Store what the batch kept: what it published is in Kafka."""
        batch, self._batch = self._batch or {}, None
        for key, (facts, partition) in batch.items():
            put(self._facts, key, facts, partition)

    def drop_batch(self) -> None:
        """Forget what the batch kept: its records come again."""
        self._batch = None

    def restate(self, key: bytes, event: CloudEvent) -> list[NormalizedEvent] | None:
        """A replayed raw event: what it stands for as the tables say it is now, worked out
        afresh; nothing is folded or stored (a replay is no news). Consent is never restated
        (the live stream carried every change). None when the tables never held its entity:
        the event is then news after all, and is folded."""
        if event.type in (ORDER_SAVED, SHIPMENT_SAVED, CREDITMEMO_SAVED):
            facts = self._load(key)
            return restated(facts) if facts is not None and facts.order is not None else None
        if event.type == SUBSCRIBER_SAVED:
            return []
        if event.type in (CUSTOMER_SAVED, QUOTE_SAVED):
            _, events = self.fold(key, event)
            return [e for e in events if not isinstance(e, ConsentChanged)]
        raise NotUsed(event.type)

    def fold(
        self, key: bytes, event: CloudEvent
    ) -> tuple[bytes | None, list[NormalizedEvent | ConsentChanged]]:
        """The order facts to store, and the normalized events to publish; nothing is stored
        yet, so an event that fails after this leaves the table as it was."""
        occurred_at = event.time or datetime.now(UTC)
        try:
            if event.type == SUBSCRIBER_SAVED:
                return None, [
                    from_subscriber(
                        event.data.value, event_id=event.eventid, occurred_at=event.time
                    )
                ]
            if event.type == CUSTOMER_SAVED:
                customer = CommerceCustomer.model_validate(event.data.value)
                updated = customer_updated(
                    customer, event_id=event.eventid, occurred_at=occurred_at
                )
                consent = from_customer(customer, event_id=event.eventid, occurred_at=occurred_at)
                return None, [updated] if consent is None else [updated, consent]
            if event.type == QUOTE_SAVED:
                quote = CommerceQuote.model_validate(event.data.value)
                return None, [cart_updated(quote, event_id=event.eventid, occurred_at=occurred_at)]
            if event.type == ORDER_SAVED:
                fold = fold_order
            elif event.type == SHIPMENT_SAVED:
                fold = fold_shipment
            elif event.type == CREDITMEMO_SAVED:
                fold = fold_creditmemo
            else:
                raise NotUsed(event.type)
            facts, events = fold(
                self._load(key), event.data.value, event_id=event.eventid, occurred_at=occurred_at
            )
        except InvalidEmail as exc:
            missing = exc.reason == "missing"
            raise Unprocessable(
                Reason.MISSING_EMAIL if missing else Reason.INVALID_EMAIL, f"customer email {exc}"
            ) from exc
        except ValidationError as exc:
            out_of_range = _out_of_range(exc)
            if out_of_range is not None:
                raise Unprocessable(Reason.NUMBER_OUT_OF_RANGE, out_of_range) from exc
            raise Unprocessable(Reason.INVALID_PAYLOAD, _validation_detail(exc)) from exc
        except NumberOutOfRange as exc:
            raise Unprocessable(Reason.NUMBER_OUT_OF_RANGE, f"number out of range: {exc}") from exc
        except ValueError as exc:
            raise Unprocessable(Reason.INVALID_PAYLOAD, str(exc)) from exc
        return facts.model_dump_json().encode(), list(events)


@dataclass
class Outcome:
    """What one raw record came to: normalized events to send, or why there are none."""

    envelope: CloudEvent | None = None
    sends: list[tuple[Any, bytes, bytes]] = field(default_factory=list)
    problem: Unprocessable | None = None
    not_used: str | None = None
    # The order facts to keep once the sends are in Kafka (None: nothing to keep).
    facts: bytes | None = None


def outcome(
    normalizer: Normalizer, topics: TopicSet, key: bytes, record: Record, *, replay: bool = False
) -> Outcome:
    """Normalize one raw record into what to send (topic, key, bytes); names the record on
    `record` as soon as its envelope is read, for a dead letter should anything else fail.
    A replayed record (`replay`) restates what the tables hold and keeps nothing."""
    try:
        envelope = read_envelope(record.value)
    except Unprocessable as problem:
        return Outcome(problem=problem)
    record.subject, record.event_id = subject_of(envelope), envelope.eventid
    try:
        again = normalizer.restate(key, envelope) if replay else None
        if again is not None:
            facts, emitted = None, list[NormalizedEvent | ConsentChanged](again)
        else:
            facts, emitted = normalizer.fold(key, envelope)
    except NotUsed as exc:
        return Outcome(envelope, not_used=str(exc))
    except Unprocessable as problem:
        return Outcome(envelope, problem=problem)
    sends = []
    for normalized in emitted:
        topic, email = _route(topics, normalized)
        value = encoded(normalized)
        sends.append((topic, email.encode(), value))
        if isinstance(normalized, CustomerUpdated) and normalized.previous_email:
            # The old email's partition hands the contact's history over.
            sends.append((topic, normalized.previous_email.encode(), value))
    return Outcome(envelope, sends, facts=facts)


class NormalizeRecords:
    """The normalize agent's work on one raw record: sent, dead-lettered or noted, never fatal."""

    def __init__(
        self,
        normalizer: Normalizer,
        topics: TopicSet,
        incidents: Incidents,
        metrics: Metrics,
        *,
        index_block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        self._normalizer = normalizer
        self._topics = topics
        self._incidents = incidents
        self._metrics = metrics
        self._reported: set[str] = set()
        self._index = RawIndex(topics.raw_index, metrics, index_block_size)

    async def batch(self, events: Sequence[Any]) -> None:
        """Normalize the consumed `events` in order, then wait once until Kafka has
        acknowledged what they sent; only then are their order facts stored."""
        self._normalizer.open_batch()
        sent: list[Any] = []
        try:
            for event in events:
                sent += await self._one(event)
            if sent:
                await asyncio.gather(*sent)
        except BaseException:
            self._normalizer.drop_batch()
            raise
        self._normalizer.close_batch()

    async def one(self, event: Any) -> None:
        """Normalize the consumed `event`: a batch of one."""
        await self.batch([event])

    async def _one(self, event: Any) -> list[Any]:
        """Normalize one event of a batch; what cannot be is on the dead-letter topic after.
        Every record read, whatever it comes to, is noted in the raw topic's time index. What
        it sends, sent: the acknowledgements to wait for."""
        key: bytes = event.key or b""
        run = replay_run(event.headers)
        done: Outcome | None = None
        async with guarded(self._incidents, Record.of(event)) as record:
            done = outcome(self._normalizer, self._topics, key, record, replay=run is not None)
        envelope = done.envelope if done is not None else None
        moment = (
            event_time(envelope.time, envelope.data.value)
            if envelope is not None
            else raw_event_time(record.value)
        )
        await self._index.note(event.message.partition, event.message.offset, moment)
        if record.failed or done is None:
            self._metrics.add("normalize.dead_lettered")
            return []
        if done.not_used is not None:
            await self._not_used(done.not_used, envelope)
        elif done.problem is not None:
            await self._incidents.dead_letter(
                reason=done.problem.reason,
                detail=done.problem.detail,
                original=record.value,
                source_topic=RAW,
                key=record.key,
                subject=subject_of(envelope) if envelope else f"raw record {record.offset}",
                partition=record.partition,
                offset=record.offset,
                event_id=envelope.eventid if envelope else None,
            )
            self._metrics.add("normalize.dead_lettered")
        else:
            self._metrics.add("normalize.events")
            headers = next_hop(run, event.message.timestamp)
            acks = [
                await topic.send(key=email, value=value, headers=headers)
                for topic, email, value in done.sends
            ]
            # Stored once these are acknowledged (close_batch): a fold that already holds a
            # shipment or credit memo publishes nothing for it again, so facts kept before a
            # kill would lose what they stand for.
            self._normalizer.keep(key, done.facts, event.message.partition)
            return acks
        return []

    async def _not_used(self, event_type: str, envelope: CloudEvent | None) -> None:
        self._metrics.add("normalize.not_used")
        if event_type in self._reported:
            return
        # Once per type and worker: the raw topic keeps every one of them.
        self._reported.add(event_type)
        await self._incidents.report(
            reason=Reason.UNKNOWN_EVENT_TYPE,
            message=f"event type {event_type} is kept on {RAW} but not used",
            subject=f"event type {event_type}",
            event_id=envelope.eventid if envelope else None,
        )


class RawIndex:
    """The raw topic's event-time index as the normalize agent writes it: every record read is
    noted, and each block closed goes to `cartwright.raw.index.v1` under the raw partition (key
    and partition). A block is a hint — one lost only makes a replay read its records — so no
    record waits for a block's acknowledgement; at most MAX_BLOCKS_IN_FLIGHT are unanswered."""

    def __init__(self, topic: Any, metrics: Metrics, block_size: int) -> None:
        self._topic = topic
        self._metrics = metrics
        self._indexer = TimeIndexer(block_size)
        self._in_flight: set[asyncio.Future[Any]] = set()

    async def note(self, partition: int, offset: int, moment: datetime | None) -> None:
        for block in self._indexer.note(partition, offset, moment):
            await self._send(block)

    async def _send(self, block: IndexBlock) -> None:
        while len(self._in_flight) >= MAX_BLOCKS_IN_FLIGHT:
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
            self._in_flight = {sent for sent in self._in_flight if not sent.done()}
        sent = await self._topic.send(
            key=str(block.partition).encode(), value=encoded(block), partition=block.partition
        )
        self._in_flight.add(sent)
        sent.add_done_callback(partial(self._answered, block))

    def _answered(self, block: IndexBlock, sent: asyncio.Future[Any]) -> None:
        self._in_flight.discard(sent)
        if sent.cancelled():
            failure = "cancelled"
        elif (exc := sent.exception()) is not None:
            failure = type(exc).__name__
        else:
            self._metrics.add("normalize.index_blocks")
            return
        self._metrics.add("normalize.index_blocks_lost")
        log.warning(
            "index block of %s[%d] offsets %d-%d not stored (%s): a replay reads those records",
            RAW,
            block.partition,
            block.first_offset,
            block.last_offset,
            failure,
        )


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    metrics: Metrics,
    *,
    index_block_size: int = DEFAULT_BLOCK_SIZE,
) -> Any:
    """Declare the order facts table and the normalize agent on `app`."""
    order_facts = bytes_table(app, "order_facts", partitions)
    normalize_one = NormalizeRecords(
        Normalizer(order_facts), topics, incidents, metrics, index_block_size=index_block_size
    )

    @app.agent(topics.raw, name="normalize")
    async def normalize(stream: Any) -> None:
        async for events in finished_batches(stream, BATCH_RECORDS, BATCH_SECONDS):
            await stopping_on_fault(app, normalize_one.batch(events))

    return normalize


def _route(topics: TopicSet, event: NormalizedEvent | ConsentChanged) -> tuple[Any, str]:
    """The topic of a normalized event, and its key (the normalized email)."""
    if isinstance(event, ConsentChanged):
        # What Commerce reported; the join publishes on `consent.v1` what it changed.
        return topics.consent_observed, event.email
    if isinstance(event, OrderUpdated):
        return topics.orders, event.email
    if isinstance(event, RefundRecorded):
        return topics.refunds, event.email
    if isinstance(event, CustomerUpdated):
        return topics.customers, event.email
    if isinstance(event, CartUpdated):
        return topics.carts, event.key
    raise TypeError(f"no topic for {type(event).__name__}")
