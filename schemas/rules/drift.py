"""Drift: Dotdigital's Orders, Refunds and contact data fields against what Commerce says they
should be (`reconciliation.expected`), as findings and as revenue per day and store."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from schemas.rules.reconciliation import (
    CONTACT_FIELDS,
    ORDER_FIELDS,
    REFUND_FIELDS,
    Entity,
    Expected,
    Finding,
    Kind,
    differences,
    record_day,
    record_moment,
)

Records = Mapping[str, Mapping[str, Any]]  # record key → its JSON document


@dataclass(frozen=True)
class Window:
    """Orders placed at or after `since` and before `until` (UTC) are compared."""

    since: datetime
    until: datetime

    def holds(self, document: Mapping[str, Any], name: str) -> bool:
        """Whether the record's `name` (`purchaseDate`, `refundDate`) falls in the window."""
        moment = record_moment(document, name)
        return moment is not None and self.since <= moment < self.until


@dataclass(frozen=True)
class DayRevenue:
    """One day and store of net revenue (refunds taken off) on both sides; cancelled orders
    are no revenue, as the contact's lifetime value counts them."""

    day: date
    store: str
    commerce: Decimal = Decimal(0)
    dotdigital: Decimal = Decimal(0)
    findings: int = 0

    @property
    def drift(self) -> Decimal:
        return self.dotdigital - self.commerce

    @property
    def percent(self) -> float:
        """Drift as a share of Commerce's revenue (±100 when Commerce has none but Dotdigital
        does: no finite share says it better)."""
        if self.commerce:
            return float(self.drift / self.commerce * 100)
        return 0.0 if not self.drift else (100.0 if self.drift > 0 else -100.0)


@dataclass(frozen=True)
class Reconciliation:
    """The findings, revenue per day and store, and what was compared or left alone."""

    findings: list[Finding] = field(default_factory=list)
    days: list[DayRevenue] = field(default_factory=list)
    orders: int = 0
    refunds: int = 0
    contacts: int = 0
    unsettled: int = 0


def compare(
    expected: Expected,
    window: Window,
    *,
    orders: Records,
    refunds: Records,
    contacts: Mapping[str, Mapping[str, Any] | None],
    unsettled: Collection[str] = (),
) -> Reconciliation:
    """Findings for the orders placed in `window`, their credit memos and their buyers.

    `orders` / `refunds` are the records Dotdigital holds for the contacts read; `contacts` the
    data fields of each buyer read (None: Dotdigital has no such contact). Orders named in
    `unsettled` (Commerce changed them so recently their writes may still be on their way) are
    left out on both sides, with their refunds and their buyers' data fields."""
    placed = {k for k, doc in expected.orders.items() if window.holds(doc, "purchaseDate")}
    skipped = placed & set(unsettled)
    compared = placed - skipped
    quiet_emails = {expected.emails[k] for k in skipped}
    findings: list[Finding] = []
    for key in sorted(compared):
        findings.extend(_order_finding(expected, key, orders.get(key)))
    # Extra: a record of the window Commerce has no order for at all.
    for key in sorted(set(orders) - set(expected.orders) - set(unsettled)):
        document = orders[key]
        if window.holds(document, "purchaseDate"):
            findings.append(_extra_order(key, document))
    memos = {k: d for k, d in expected.refunds.items() if str(d.get("orderId")) in compared}
    for key in sorted(memos):
        findings.extend(_refund_finding(expected, key, memos[key], refunds.get(key)))
    for key in sorted(set(refunds) - set(expected.refunds)):
        document = refunds[key]
        order = str(document.get("orderId"))
        if order in compared or (
            order not in expected.orders and window.holds(document, "refundDate")
        ):
            findings.append(_extra_refund(expected, key, document))
    buyers = sorted({expected.emails[k] for k in compared} - quiet_emails)
    for email in buyers:
        finding = _contact_finding(email, expected.contacts.get(email, {}), contacts.get(email))
        if finding is not None:
            findings.append(finding)
    return Reconciliation(
        findings=findings,
        days=_days(expected, compared, orders, set(unsettled), window, findings),
        orders=len(compared),
        refunds=len(memos),
        contacts=len(buyers),
        unsettled=len(skipped),
    )


def _where(document: Mapping[str, Any] | None) -> tuple[date | None, str | None]:
    if document is None:
        return None, None
    store = document.get("storeName")
    return record_day(document, "purchaseDate"), str(store) if store is not None else None


def _order_finding(expected: Expected, key: str, found: Mapping[str, Any] | None) -> list[Finding]:
    wanted = expected.orders[key]
    changed = differences(ORDER_FIELDS, wanted, found or {})
    if found is not None and not changed:
        return []
    day, store = _where(wanted)
    return [
        Finding(
            kind=Kind.MISSING if found is None else Kind.MISMATCH,
            entity=Entity.ORDER,
            key=key,
            email=expected.emails[key],
            order=key,
            order_entity_id=expected.entity_ids[key],
            day=day,
            store=store,
            differences=changed,
        )
    ]


def _extra_order(key: str, document: Mapping[str, Any]) -> Finding:
    day, store = _where(document)
    email = document.get("email")
    return Finding(
        kind=Kind.EXTRA,
        entity=Entity.ORDER,
        key=key,
        email=str(email) if email else None,
        order=key,
        day=day,
        store=store,
        differences=differences(ORDER_FIELDS, {}, document),
    )


def _refund_finding(
    expected: Expected, key: str, wanted: Mapping[str, Any], found: Mapping[str, Any] | None
) -> list[Finding]:
    order = str(wanted.get("orderId"))
    day, store = _where(expected.orders.get(order))
    changed = differences(REFUND_FIELDS, wanted, found or {})
    if found is not None and not changed:
        return []
    return [
        Finding(
            kind=Kind.MISSING if found is None else Kind.MISMATCH,
            entity=Entity.REFUND,
            key=key,
            email=expected.emails.get(order),
            order=order,
            order_entity_id=expected.entity_ids.get(order),
            day=day,
            store=store,
            differences=changed,
        )
    ]


def _extra_refund(expected: Expected, key: str, document: Mapping[str, Any]) -> Finding:
    order = str(document.get("orderId"))
    day, store = _where(expected.orders.get(order))
    email = document.get("email")
    return Finding(
        kind=Kind.EXTRA,
        entity=Entity.REFUND,
        key=key,
        email=str(email) if email else None,
        order=order,
        order_entity_id=expected.entity_ids.get(order),
        day=day,
        store=store,
        differences=differences(REFUND_FIELDS, {}, document),
    )


def _contact_finding(
    email: str, wanted: Mapping[str, Any], found: Mapping[str, Any] | None
) -> Finding | None:
    names = [name for name in wanted] or list(CONTACT_FIELDS)
    if found is None:
        shown = differences(names, wanted, {})
        return Finding(Kind.MISSING, Entity.CONTACT, email, email=email, differences=shown)
    changed = differences(names, wanted, found)
    if not changed:
        return None
    return Finding(Kind.MISMATCH, Entity.CONTACT, email, email=email, differences=changed)


def _net(document: Mapping[str, Any]) -> Decimal:
    """A record's net revenue: nothing for a cancelled order."""
    if document.get("orderState") == "canceled":
        return Decimal(0)
    value = document.get("netTotal", document.get("orderTotal"))
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


def _days(
    expected: Expected,
    compared: Collection[str],
    found: Records,
    unsettled: Collection[str],
    window: Window,
    findings: list[Finding],
) -> list[DayRevenue]:
    """Revenue per day and store, each side by its own record's day and store."""
    sums: dict[tuple[date, str], list[Decimal]] = {}

    def add(document: Mapping[str, Any], side: int) -> None:
        day, store = _where(document)
        if day is not None:
            sums.setdefault((day, store or ""), [Decimal(0), Decimal(0)])[side] += _net(document)

    for key in compared:
        add(expected.orders[key], 0)
    for key, document in found.items():
        if key not in unsettled and window.holds(document, "purchaseDate"):
            add(document, 1)
    counts: dict[tuple[date, str], int] = {}
    for finding in findings:
        if finding.day is not None:
            place = (finding.day, finding.store or "")
            counts[place] = counts.get(place, 0) + 1
    return [
        DayRevenue(day, store, commerce, dotdigital, counts.get((day, store), 0))
        for (day, store), (commerce, dotdigital) in sorted(sums.items())
    ]
