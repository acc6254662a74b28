"""Reading what a trace shows: Commerce's record, each stage's records of the subject, the
sink's trail, the exceptions, and what Dotdigital holds now.

A subject's records are keyed by its email (or its raw key, `order:<id>`), so each topic is read
in the one partition that key hashes to: a trace costs a few partitions' reads, not the topics'.
The one exception: an order Commerce does not know (or cannot say) is looked for on the whole
orders topic, its email and id being what the other reads need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiokafka.partitioner import murmur2
from pydantic import BaseModel, ValidationError

from connectors.commerce.client import CommerceClient
from connectors.commerce.search import SearchCriteria
from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import ConnectorError
from connectors.privacy import mask_email
from schemas.commerce.events import CloudEvent
from schemas.contract.incidents import SyncException
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import (
    CUSTOMERS,
    EXCEPTIONS,
    ORDERS,
    RAW,
    REFUNDS,
    TRAIL,
    WRITES,
    WRITES_REALTIME,
)
from schemas.dotdigital.commands import ContactWrite, WriteCommand
from schemas.dotdigital.orders import ORDERS_COLLECTION
from schemas.dotdigital.refunds import REFUNDS_COLLECTION
from schemas.dotdigital.trail import Written
from schemas.email import InvalidEmail, normalize_email
from streams.ops.trace import (
    OK,
    PENDING,
    STOPPED,
    Step,
    Trace,
    delivered,
    excepted,
    joined,
    millis,
    normalized,
    trace,
    written,
)
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.incidents import readable

Model = TypeVar("Model", bound=BaseModel)
LANES = {WRITES: "batch", WRITES_REALTIME: "realtime"}
# Longest an order number or an email given to a trace may be (Commerce's and RFC 5321's).
MAX_QUERY = 254
# How long a trace waits for Dotdigital's answers: in an outage it says so instead of waiting.
DOTDIGITAL_WAIT = 15.0


def partition_of(key: str, partitions: int) -> int:
    """The partition a keyed record lands in (the producers' default partitioner)."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


@dataclass
class Evidence:
    """What the reads found, step by step, and what Dotdigital holds now."""

    steps: list[Step] = field(default_factory=list)
    dotdigital: list[tuple[str, str]] = field(default_factory=list)
    in_dotdigital: bool = False


class TraceReader:
    """Traces orders and contacts on one broker, asking Commerce and Dotdigital as it goes."""

    def __init__(
        self,
        bootstrap: str,
        partitions: int,
        commerce: CommerceClient | None,
        dotdigital: DotdigitalClient | None,
    ) -> None:
        self._bootstrap = bootstrap
        self._partitions = partitions
        self._commerce = commerce
        self._dotdigital = dotdigital

    async def order(self, number: str) -> Trace:
        """`cartwright trace order 000000123`: from Commerce to Dotdigital."""
        number = number.strip()[:MAX_QUERY]
        subject = f"order {number}"
        found = Evidence()
        order = await self._commerce_order(number, found)
        email = _email(str(order.get("customer_email") or "")) if order else None
        entity_id = order.get("entity_id") if order else None
        if order is None:
            email, entity_id = await self._order_on_topic(number)
        raw_key = f"order:{entity_id}" if entity_id is not None else None
        if raw_key:
            await self._delivered(raw_key, found)
        ends = (f" of order {number}", f" of order entity {entity_id}")

        def about(name: str) -> bool:
            """The order itself, its enrolments (`order N (trigger)`), its refunds, shipments
            and credit memos (`refund M of order N`, `… of order entity E`)."""
            return name == subject or name.startswith(f"{subject} (") or name.endswith(ends)

        if email:
            await self._normalized_orders(email, number, found)
            await self._joined(email, about, found)
            await self._written(email, about, found)
        await self._excepted(
            [key for key in (email, raw_key, subject) if key],
            lambda record: about(record.subject),
            found,
        )
        if email:
            await self._now(self._orders_now(email, number, found), found)
        elif order is not None:
            why = "its email is not a valid address, so it has no contact in Dotdigital"
            found.dotdigital.append(("Orders record", f"none: {why}"))
        return trace(subject, found.steps, found.dotdigital, found.in_dotdigital)

    async def contact(self, email: str) -> Trace:
        """`cartwright trace contact ada@example.com`: the contact and what was written for it."""
        normalized_email = _email(email.strip()[:MAX_QUERY])
        if normalized_email is None:
            step = Step("commerce", None, STOPPED, "not a valid email address")
            return trace(f"contact {readable(email[:MAX_QUERY])}", [step], [], False)
        subject = f"contact {mask_email(normalized_email)}"
        found = Evidence()
        customer_id = await self._commerce_customer(normalized_email, found)
        if customer_id is not None:
            await self._delivered(f"customer:{customer_id}", found)
        await self._normalized_contact(normalized_email, found)
        await self._joined(normalized_email, lambda name: True, found)
        await self._written(normalized_email, lambda name: True, found)
        await self._excepted([normalized_email], lambda record: True, found)
        await self._now(self._contact_now(normalized_email, found), found)
        return trace(subject, found.steps, found.dotdigital, found.in_dotdigital)

    # --- Commerce ---

    async def _commerce_order(self, number: str, found: Evidence) -> dict[str, Any] | None:
        if self._commerce is None:
            return None
        criteria = SearchCriteria().where("increment_id", "eq", number).page(1)
        try:
            result = await self._commerce.orders(criteria)
        except ConnectorError as exc:
            found.steps.append(Step("commerce", None, PENDING, f"Commerce did not answer: {exc}"))
            return None
        if not result.items:
            found.steps.append(Step("commerce", None, PENDING, "Commerce has no such order"))
            return None
        order: dict[str, Any] = dict(result.items[0])
        detail = (
            f"Commerce holds order {number} (entity {order.get('entity_id')}): status "
            f"{order.get('status')}, total {order.get('grand_total')} "
            f"{order.get('order_currency_code') or ''}, placed {order.get('created_at')}, "
            f"updated {order.get('updated_at')}"
        )
        found.steps.append(Step("commerce", None, OK, detail))
        return order

    async def _commerce_customer(self, email: str, found: Evidence) -> int | None:
        if self._commerce is None:
            return None
        try:
            result = await self._commerce.search_customers(
                SearchCriteria().where("email", "eq", email).page(1)
            )
        except ConnectorError as exc:
            found.steps.append(Step("commerce", None, PENDING, f"Commerce did not answer: {exc}"))
            return None
        if not result.items:
            found.steps.append(
                Step("commerce", None, OK, "no customer account in Commerce (a guest)")
            )
            return None
        customer = result.items[0]
        found.steps.append(Step("commerce", None, OK, f"Commerce customer {customer.get('id')}"))
        ident = customer.get("id")
        return ident if isinstance(ident, int) else None

    # --- the topics ---

    async def _read(
        self, topic: str, keys: Collection[str] | None, keep: Callable[[Record], None]
    ) -> None:
        """One topic, once, in the partitions `keys` hash to, passing on only their records
        (every partition and record when there are no keys)."""
        if keys is None:
            await read_to_end(self._bootstrap, topic, keep)
            return
        wanted = {key.encode() for key in keys}
        chosen = {partition_of(key, self._partitions) for key in keys}

        def mine(record: Record) -> None:
            if record.key in wanted:
                keep(record)

        await read_to_end(self._bootstrap, topic, mine, partitions=chosen)

    async def _order_on_topic(self, number: str) -> tuple[str | None, int | None]:
        """The order's email and entity from the orders topic, when Commerce cannot say."""
        seen: list[OrderUpdated] = []

        def keep(record: Record) -> None:
            order = _model(record, OrderUpdated)
            if order is not None and order.increment_id == number:
                seen.append(order)

        await self._read(ORDERS, None, keep)
        return (seen[-1].email, seen[-1].entity_id) if seen else (None, None)

    async def _delivered(self, raw_key: str, found: Evidence) -> None:
        def keep(record: Record) -> None:
            event = _model(record, CloudEvent)
            if event is not None:
                at = millis(record.timestamp)
                found.steps.append(delivered(event.type, event.eventid, at, record.offset))

        await self._read(RAW, [raw_key], keep)

    async def _normalized_orders(self, email: str, number: str, found: Evidence) -> None:
        def keep_order(record: Record) -> None:
            order = _model(record, OrderUpdated)
            if order is not None and order.increment_id == number:
                what = (
                    f"order {number}: status {order.status}, total {order.grand_total:.2f} "
                    f"{order.currency or ''}, fulfilled {'yes' if order.fulfilled else 'no'}"
                )
                found.steps.append(normalized(what, millis(record.timestamp)))

        def keep_refund(record: Record) -> None:
            refund = _model(record, RefundRecorded)
            if refund is not None and refund.order_increment_id == number:
                what = f"credit memo {refund.increment_id}: {refund.amount:.2f} {refund.currency or ''}"
                found.steps.append(normalized(what, millis(record.timestamp)))

        await self._read(ORDERS, [email], keep_order)
        await self._read(REFUNDS, [email], keep_refund)

    async def _normalized_contact(self, email: str, found: Evidence) -> None:
        def keep_customer(record: Record) -> None:
            if _model(record, CustomerUpdated) is not None:
                found.steps.append(normalized("customer update", millis(record.timestamp)))

        def keep_order(record: Record) -> None:
            order = _model(record, OrderUpdated)
            if order is not None:
                what = f"order {order.increment_id}: status {order.status}"
                found.steps.append(normalized(what, millis(record.timestamp)))

        await self._read(CUSTOMERS, [email], keep_customer)
        await self._read(ORDERS, [email], keep_order)

    async def _joined(self, email: str, about: Callable[[str], bool], found: Evidence) -> None:
        for topic, lane in LANES.items():

            def keep(record: Record, lane: str = lane) -> None:
                command = _model(record, WriteCommand)
                if command is None or command.command.email != email:
                    return
                inner = command.command
                name = "contact" if isinstance(inner, ContactWrite) else inner.subject
                if about(name):
                    found.steps.append(joined(command, lane, millis(record.timestamp)))

            await self._read(topic, [email], keep)

    async def _written(self, email: str, about: Callable[[str], bool], found: Evidence) -> None:
        def keep(record: Record) -> None:
            entry = _model(record, Written)
            if entry is not None and entry.email == email and about(entry.subject):
                found.steps.append(written(entry))

        await self._read(TRAIL, [email], keep)

    async def _excepted(
        self, keys: Iterable[str], about: Callable[[SyncException], bool], found: Evidence
    ) -> None:
        def keep(record: Record) -> None:
            exception = _model(record, SyncException)
            if exception is not None and about(exception):
                found.steps.append(excepted(exception))

        await self._read(EXCEPTIONS, set(keys), keep)

    # --- Dotdigital now ---

    async def _now(self, reading: Coroutine[Any, Any, None], found: Evidence) -> None:
        """What Dotdigital holds, unless it does not answer in time (the trace is still told)."""
        if self._dotdigital is None:
            reading.close()
            found.dotdigital.append(("Dotdigital", "did not answer: see the status page"))
            return
        try:
            async with asyncio.timeout(DOTDIGITAL_WAIT):
                await reading
        except TimeoutError:
            wait = f"did not answer within {DOTDIGITAL_WAIT:.0f} s: see the status page"
            found.dotdigital.append(("Dotdigital", wait))

    async def _orders_now(self, email: str, number: str, found: Evidence) -> None:
        if self._dotdigital is None:
            return
        try:
            record = await self._dotdigital.get_insight_record(
                ORDERS_COLLECTION, number, email=email
            )
        except ConnectorError as exc:
            found.dotdigital.append(("Dotdigital", f"did not answer: {exc}"))
            return
        if record is None:
            found.dotdigital.append(("Orders record", f"none with key {number}"))
        else:
            found.in_dotdigital = True
            document = record.get("json", record)
            found.dotdigital.append(("Orders record", _order_words(number, document)))
        try:
            refunds = await self._dotdigital.list_contact_insight(email, REFUNDS_COLLECTION)
        except ConnectorError:
            refunds = []  # no Refunds collection yet: no refund was ever written
        mine = [r for r in refunds if (r.get("json") or {}).get("orderId") == number]
        words = ", ".join(_refund_words(r) for r in mine) or "none"
        found.dotdigital.append(("Refunds records", words))

    async def _contact_now(self, email: str, found: Evidence) -> None:
        if self._dotdigital is None:
            return
        try:
            contact = await self._dotdigital.get_contact(email)
            orders = await self._dotdigital.list_contact_insight(email, ORDERS_COLLECTION)
        except ConnectorError as exc:
            found.dotdigital.append(("Dotdigital", f"did not answer: {exc}"))
            return
        if contact is None:
            found.dotdigital.append(("contact", "none with this email"))
            return
        found.in_dotdigital = True
        fields = contact.data_fields
        found.dotdigital.append(("contact", f"id {contact.contact_id}, status {contact.status}"))
        for name in ("FIRSTNAME", "LASTNAME", "LIFETIME_VALUE", "ORDER_COUNT", "LAST_ORDER_DATE"):
            if fields.get(name) not in (None, ""):
                found.dotdigital.append((name, str(fields[name])))
        found.dotdigital.append(("Orders records", str(len(orders))))


def _email(raw: str) -> str | None:
    """The address as the topics key it, or None when it is not one (what normalize refuses)."""
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return None


def _model(record: Record, model: type[Model]) -> Model | None:
    """The record's value as `model`, or None: a trace reads what it can and skips the rest."""
    with suppress(ValidationError, orjson.JSONDecodeError):
        return model.model_validate_json(record.value or b"")
    return None


def _order_words(number: str, document: dict[str, Any]) -> str:
    return (
        f"{number}: status {document.get('orderStatus')}, total {document.get('orderTotal')} "
        f"{document.get('currency') or ''}, net {document.get('netTotal')}, fulfilled "
        f"{'yes' if document.get('fulfilled') else 'no'}"
    )


def _refund_words(record: dict[str, Any]) -> str:
    document = record.get("json") or {}
    return f"{document.get('id')} ({document.get('amount')})"
