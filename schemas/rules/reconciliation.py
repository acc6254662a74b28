"""Reconciliation: what Dotdigital should hold for Commerce's orders and credit memos, worked out by
the pipeline's own folds and mappings, against what it holds; findings and revenue per day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from schemas.commerce.creditmemos import CommerceCreditmemo
from schemas.contract.normalized import OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.dotdigital.amounts import CENT
from schemas.dotdigital.orders import orders_record
from schemas.dotdigital.refunds import refunds_record
from schemas.email import InvalidEmail
from schemas.rules import contacts, order_facts

# What is compared: the money and the lifecycle, not every line (lines change with labels,
# shipments and attribute settings, none of which moves revenue).
ORDER_FIELDS = ("orderTotal", "orderStatus", "orderState", "refundedAmount", "netTotal")
REFUND_FIELDS = ("orderId", "amount", "state")
CONTACT_FIELDS = ("ORDER_COUNT", "LIFETIME_VALUE")
_MONEY = frozenset({"orderTotal", "refundedAmount", "netTotal", "amount", "LIFETIME_VALUE"})
_WIRE_TIME = "%Y-%m-%d %H:%M:%S"


class Kind(StrEnum):
    """How Dotdigital differs from Commerce for one record."""

    MISSING = "missing"  # in Commerce, not in Dotdigital
    EXTRA = "extra"  # in Dotdigital, not in Commerce
    MISMATCH = "mismatch"  # in both, with different values


class Entity(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    CONTACT = "contact"


@dataclass(frozen=True)
class Difference:
    """One field: what Commerce says Dotdigital should hold, and what it holds."""

    name: str
    expected: Any
    found: Any


@dataclass(frozen=True)
class Finding:
    """One record that disagrees. `key`: the order or credit memo increment id, or the email;
    `order` the order it belongs to and `order_entity_id` Commerce's id of it (what a replay
    selects), when known."""

    kind: Kind
    entity: Entity
    key: str
    email: str | None = None
    order: str | None = None
    order_entity_id: int | None = None
    day: date | None = None
    store: str | None = None
    differences: tuple[Difference, ...] = ()

    @property
    def what(self) -> str:
        """The record as an operator names it: `order 000000123`, `refund 000000007 of order …`."""
        if self.entity is Entity.REFUND and self.order:
            return f"refund {self.key} of order {self.order}"
        return f"{self.entity.value} {self.key}"


@dataclass(frozen=True)
class Expected:
    """What Dotdigital should hold, by the pipeline's mappings: records by key, with the
    order's Commerce id and email beside them, and each email's contact data fields."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    entity_ids: dict[str, int] = field(default_factory=dict)  # order increment id → entity id
    emails: dict[str, str] = field(default_factory=dict)  # order increment id → email
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # email → data fields
    unreadable: list[str] = field(default_factory=list)  # what the pipeline cannot read either


def expected(
    orders: Iterable[Mapping[str, Any]],
    creditmemos: Iterable[Mapping[str, Any]],
    *,
    names: Mapping[str, str] | None = None,
) -> Expected:
    """Commerce REST orders and credit memos (as `GET /V1/orders` and `/V1/creditmemos` list
    them) folded as the normalize agent folds their events, mapped as the join maps them."""
    memos: dict[int, list[dict[str, Any]]] = {}
    out = Expected()
    for raw in creditmemos:
        try:
            memo = CommerceCreditmemo.model_validate(raw)
        except ValidationError:
            out.unreadable.append(f"credit memo {raw.get('increment_id') or raw.get('entity_id')}")
            continue
        memos.setdefault(memo.order_id, []).append(dict(raw))
    states: dict[str, contacts.ContactState] = {}
    for raw in orders:
        try:
            order, refunds = _restated(raw, memos)
        except (ValidationError, InvalidEmail, ValueError):
            out.unreadable.append(f"order {raw.get('increment_id') or raw.get('entity_id')}")
            continue
        out.orders[order.increment_id] = orders_record(order).json_
        out.entity_ids[order.increment_id] = order.entity_id
        out.emails[order.increment_id] = order.email
        for refund in refunds:
            out.refunds[refund.increment_id] = refunds_record(refund).json_
        states[order.email] = contacts.fold_order(states.get(order.email), order)
    for email, state in states.items():
        fields = contacts.contact_fields(state, names).data_fields
        wanted = {(names or {}).get(name, name) for name in CONTACT_FIELDS}
        out.contacts[email] = {k: v for k, v in fields.items() if k in wanted}
    return out


def _restated(
    raw: Mapping[str, Any], memos: Mapping[int, list[dict[str, Any]]]
) -> tuple[OrderUpdated, list[RefundRecorded]]:
    """The order and its refunds as the order facts fold says they stand (`restated`)."""
    at = _moment(raw.get("updated_at")) or _moment(raw.get("created_at")) or datetime.now(UTC)
    event_id = f"reconcile:{raw.get('entity_id')}"
    facts, _ = order_facts.fold_order(None, dict(raw), event_id=event_id, occurred_at=at)
    for memo in memos.get(int(raw.get("entity_id") or 0), []):
        memo_id = f"reconcile:{raw.get('entity_id')}:{memo.get('entity_id')}"
        facts, _ = order_facts.fold_creditmemo(facts, memo, event_id=memo_id, occurred_at=at)
    events = order_facts.restated(facts)
    orders = [e for e in events if isinstance(e, OrderUpdated)]
    if not orders:
        raise ValueError("no order snapshot")
    return orders[0], [e for e in events if isinstance(e, RefundRecorded)]


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), _WIRE_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def record_moment(document: Mapping[str, Any], name: str) -> datetime | None:
    """A record's `purchaseDate` / `refundDate` (`Y-m-d H:i:s`, UTC), None when unreadable."""
    return _moment(document.get(name))


def record_day(document: Mapping[str, Any], name: str) -> date | None:
    """The day of a record's `purchaseDate` / `refundDate` (UTC)."""
    moment = _moment(document.get(name))
    return None if moment is None else moment.date()


def _same(name: str, expected: Any, found: Any) -> bool:
    if name in _MONEY or name == "ORDER_COUNT":
        return _number(expected) == _number(found)
    return bool(expected == found)


def _number(value: Any) -> Decimal | None:
    """Money and counts compared to the cent, whatever JSON type carried them."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(CENT)
    except ArithmeticError:
        return None


def differences(
    fields: Sequence[str], expected: Mapping[str, Any], found: Mapping[str, Any]
) -> tuple[Difference, ...]:
    """The fields of `fields` whose values differ (money to the cent)."""
    return tuple(
        Difference(name, expected.get(name), found.get(name))
        for name in fields
        if not _same(name, expected.get(name), found.get(name))
    )
