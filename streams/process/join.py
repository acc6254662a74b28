"""The join agent: normalized events per email → `contacts` and `orders` tables → write commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.received import next_hop, received_at
from schemas.contract.refunds import RefundRecorded
from schemas.contract.replay import Headers, replay_run
from schemas.contract.topics import (
    COMMERCE_WRITES,
    CONSENT,
    CONSENT_OBSERVED,
    CUSTOMERS,
    IDENTITY,
    ORDERS,
    REFUNDS,
)
from schemas.dotdigital.commands import Lane
from schemas.dotdigital.refunds import REFUNDS_COLLECTION
from schemas.rules.contacts import ContactHandover
from streams.process.join_output import JoinOutput
from streams.process.joiner import Joiner
from streams.process.order_writes import no_attributes
from streams.process.product_attributes import ProductAttributes
from streams.runtime.application import finished_batches
from streams.runtime.faults import Record, guarded, stopping_on_fault
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.runtime.topics import BATCH_RECORDS, BATCH_SECONDS, TopicSet, bytes_source, encoded

Event = TypeVar("Event", bound=BaseModel)
# One handler per source topic: (raw value, message key, replayed?) → what the join calls for.
Handler = Callable[[bytes, str, bool], Awaitable[JoinOutput]]


class Unreadable(Exception):
    """A record that is no v1 normalized event; `problems` is how many validation errors."""

    def __init__(self, problems: int) -> None:
        super().__init__(f"{problems} problem(s)")
        self.problems = problems


def read(model: type[Event], value: bytes) -> Event:
    """`value` as `model`, or `Unreadable`: a table read that fails later is no such record."""
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        raise Unreadable(exc.error_count()) from exc


def handlers(joiner: Joiner) -> dict[str, Handler]:
    """The join's topic dispatch."""

    async def order(value: bytes, key: str, replay: bool) -> JoinOutput:
        return joiner.on_order(read(OrderUpdated, value), replay=replay)

    async def refund(value: bytes, key: str, replay: bool) -> JoinOutput:
        # A refund is a record of its own, written whole each time: a replay writes it again.
        return joiner.on_refund(read(RefundRecorded, value))

    async def handover(value: bytes, key: str, replay: bool) -> JoinOutput:
        return joiner.on_handover(read(ContactHandover, value))

    async def consent(value: bytes, key: str, replay: bool) -> JoinOutput:
        return joiner.on_consent(read(ConsentChanged, value), replay=replay)

    async def customer(value: bytes, key: str, replay: bool) -> JoinOutput:
        return joiner.on_customer(read(CustomerUpdated, value), key, replay=replay)

    return {
        ORDERS: order,
        REFUNDS: refund,
        IDENTITY: handover,
        CONSENT_OBSERVED: consent,
        CUSTOMERS: customer,
    }


class JoinRecords:
    """The join agent's work on one record: published, or dead-lettered, never fatal."""

    def __init__(
        self,
        joiner: Joiner,
        topics: TopicSet,
        incidents: Incidents,
        metrics: Metrics | None = None,
    ) -> None:
        self._joiner = joiner
        self._topics = topics
        self._incidents = incidents
        self._metrics = metrics or Metrics()
        self._targets = {
            IDENTITY: topics.identity,
            ORDERS: topics.orders,
            REFUNDS: topics.refunds,
            CONSENT: topics.consent,
            COMMERCE_WRITES: topics.commerce_writes,
        }

    async def batch(self, events: Sequence[Any], dispatch: Mapping[str, Handler]) -> None:
        """Join the consumed `events` in order, then wait once until Kafka has acknowledged
        everything they sent; only then do the tables take what they changed (see
        ContactBook). A fault of one event's own dead-letters it, and the rest go on."""
        book = self._joiner.book
        book.open_batch()
        sent: list[Any] = []
        try:
            for event in events:
                sent += await self._one(event, dispatch)
            if sent:
                await asyncio.gather(*sent)
        except BaseException:
            book.drop_batch()
            raise
        book.close_batch()

    async def one(self, event: Any, dispatch: Mapping[str, Handler]) -> None:
        """Join the consumed `event`: a batch of one."""
        await self.batch([event], dispatch)

    async def _one(self, event: Any, dispatch: Mapping[str, Handler]) -> list[Any]:
        """Join one event of a batch: what it sends, sent (the acknowledgements to wait for)."""
        key = (event.key or b"").decode(errors="replace")
        run = replay_run(event.headers)
        problems = 0
        book = self._joiner.book
        book.begin()
        async with guarded(self._incidents, Record.of(event)) as record:
            try:
                out = await dispatch[event.message.topic](event.value, key, run is not None)
            except Unreadable as exc:
                problems = exc.problems
            else:
                sends = self._encoded(out, key)
        if record.failed or problems:
            book.discard()
            if problems:
                await self._incidents.unreadable(event, "a v1 normalized event", problems)
            return []
        try:
            sent = await self._publish(out, sends, next_hop(run, received_at(event.headers)))
        except BaseException:
            book.discard()
            raise
        book.commit(event.message.partition)
        return sent

    def _encoded(self, out: JoinOutput, key: str) -> list[tuple[Any, bytes, bytes]]:
        """The forwards, then the write commands, as (topic, key, bytes) to send."""
        sends = [
            (
                self._targets[forward.topic],
                forward.key.encode(),
                encoded(forward.event),
            )
            for forward in out.forwards
        ]
        for write in out.writes:
            realtime = write.command.lane is Lane.REALTIME
            lane = self._topics.writes_realtime if realtime else self._topics.writes
            owner = write.command.email or key
            sends.append(
                (
                    lane,
                    self._joiner.route(owner).encode(),
                    encoded(write),
                )
            )
        return sends

    async def _publish(
        self, out: JoinOutput, sends: list[tuple[Any, bytes, bytes]], headers: Headers
    ) -> list[Any]:
        """Send everything (a replay's with its header, so every hop knows it for one); the
        acknowledgements to wait for."""
        forwards = len(out.forwards)
        acks = [
            await topic.send(key=key, value=value, headers=headers)
            for topic, key, value in sends[:forwards]
        ]
        for notice in out.notices:
            if notice.reason is Reason.CONSENT_GATE and notice.program is not None:
                self._metrics.gate_refused(str(notice.program))
            await self._incidents.report(
                reason=notice.reason,
                message=notice.message,
                subject=notice.subject,
                event_id=notice.event_id,
                email=notice.email,
                attribute=notice.attribute,
            )
        acks += [
            await topic.send(key=key, value=value, headers=headers)
            for topic, key, value in sends[forwards:]
        ]
        return acks


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    collection: str,
    *,
    refunds_collection: str = REFUNDS_COLLECTION,
    programs: Mapping[str, int] | None = None,
    products: ProductAttributes | None = None,
    write_back: bool = True,
    data_fields: Mapping[str, str] | None = None,
    metrics: Metrics | None = None,
) -> tuple[Any, Joiner]:
    """Declare the contacts and orders tables and the join agent on `app`; `metrics` counts
    the enrolments the consent gate holds back, per program. With `products` (the products
    topic in memory), Orders lines carry their attributes, and the join starts once it is
    read to its end."""

    joiner = Joiner(
        bytes_table(app, "contacts", partitions),
        bytes_table(app, "orders", partitions),
        collection=collection,
        refunds_collection=refunds_collection,
        programs=programs,
        write_back=write_back,
        data_fields=data_fields,
        attributes=products.for_skus if products is not None else no_attributes,
    )
    source = bytes_source(
        app,
        ORDERS,
        CUSTOMERS,
        REFUNDS,
        IDENTITY,
        CONSENT_OBSERVED,
    )
    records = JoinRecords(joiner, topics, incidents, metrics)

    dispatch = handlers(joiner)

    @app.agent(source, name="join")
    async def join(stream: Any) -> None:
        # Iterate first, then wait: Faust hands a topic's records only to the streams already
        # iterating it and acknowledges them once those are done, and the carts and browse
        # agents read the orders topic too. A join that waited for the products before it
        # iterated missed every order they took meanwhile, for good (a restarted worker left
        # orders at their older state in Dotdigital).
        async for events in finished_batches(stream, BATCH_RECORDS, BATCH_SECONDS):
            if products is not None:
                await products.ready()
            await stopping_on_fault(app, records.batch(events, dispatch))

    return join, joiner
