"""The join agent: normalized events per email → `contacts` and `orders` tables → write commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.contract.consent import ConsentChanged
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
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
from streams.process.product_attributes import ProductAttributes
from streams.runtime.incidents import Incidents
from streams.runtime.tables import bytes_table
from streams.runtime.topics import TopicSet

# One handler per source topic: (raw value, message key) → what the join calls for.
Handler = Callable[[bytes, str], Awaitable[JoinOutput]]


def handlers(joiner: Joiner, products: ProductAttributes | None) -> dict[str, Handler]:
    """The join's topic dispatch. Product attributes (a Commerce REST call) are resolved here,
    before the fold, so the fold itself stays a pure table update."""

    async def order(value: bytes, key: str) -> JoinOutput:
        event = OrderUpdated.model_validate_json(value)
        labels = await products.for_skus(skus(event)) if products else None
        return joiner.on_order(event, labels)

    async def refund(value: bytes, key: str) -> JoinOutput:
        return joiner.on_refund(RefundRecorded.model_validate_json(value))

    async def handover(value: bytes, key: str) -> JoinOutput:
        return joiner.on_handover(ContactHandover.model_validate_json(value))

    async def consent(value: bytes, key: str) -> JoinOutput:
        return joiner.on_consent(ConsentChanged.model_validate_json(value))

    async def customer(value: bytes, key: str) -> JoinOutput:
        return joiner.on_customer(CustomerUpdated.model_validate_json(value), key)

    return {
        ORDERS: order,
        REFUNDS: refund,
        IDENTITY: handover,
        CONSENT_OBSERVED: consent,
        CUSTOMERS: customer,
    }


def skus(order: OrderUpdated) -> list[str]:
    """Every sku on the order, bundle and configurable children included."""
    return [line.sku for line in order.lines] + [
        child.sku for line in order.lines for child in line.children
    ]


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    collection: str,
    *,
    refunds_collection: str = REFUNDS_COLLECTION,
    programs: Mapping[str, int] | None = None,
    attributes: Callable[[], AbstractAsyncContextManager[ProductAttributes | None]] | None = None,
    write_back: bool = True,
) -> tuple[Any, Joiner]:
    """Declare the contacts and orders tables and the join agent on `app`."""

    joiner = Joiner(
        bytes_table(app, "contacts", partitions),
        bytes_table(app, "orders", partitions),
        collection=collection,
        refunds_collection=refunds_collection,
        programs=programs,
        write_back=write_back,
    )
    source = app.topic(
        ORDERS,
        CUSTOMERS,
        REFUNDS,
        IDENTITY,
        CONSENT_OBSERVED,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    targets = {
        IDENTITY: topics.identity,
        ORDERS: topics.orders,
        REFUNDS: topics.refunds,
        CONSENT: topics.consent,
        COMMERCE_WRITES: topics.commerce_writes,
    }

    async def publish(out: JoinOutput, key: str) -> None:
        for forward in out.forwards:
            await targets[forward.topic].send(
                key=forward.key.encode(),
                value=orjson.dumps(forward.event.model_dump(mode="json", by_alias=True)),
            )
        for notice in out.notices:
            await incidents.report(
                reason=notice.reason,
                message=notice.message,
                subject=notice.subject,
                event_id=notice.event_id,
                email=notice.email,
            )
        for write in out.writes:
            lane = topics.writes_realtime if write.command.lane is Lane.REALTIME else topics.writes
            owner = write.command.email or key
            await lane.send(
                key=joiner.route(owner).encode(),
                value=orjson.dumps(write.model_dump(mode="json", by_alias=True)),
            )

    async def consume(stream: Any, products: ProductAttributes | None) -> None:
        dispatch = handlers(joiner, products)
        async for event in stream.events():
            key = (event.key or b"").decode()
            try:
                out = await dispatch[event.message.topic](event.value, key)
            except ValidationError as exc:
                await incidents.unreadable(event, "a v1 normalized event", exc.error_count())
                continue
            await publish(out, key)

    @app.agent(source, name="join")
    async def join(stream: Any) -> None:
        if attributes is None:
            await consume(stream, None)
            return
        async with attributes() as products:
            await consume(stream, products)

    return join, joiner
