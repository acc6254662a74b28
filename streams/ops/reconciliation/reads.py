"""What reconciliation reads: Commerce's orders and credit memos of a window (REST, unbudgeted by
Dotdigital) and Dotdigital's contacts and records for them, its calls planned before they go."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from connectors.commerce.client import CommerceClient
from connectors.commerce.search import Condition, SearchCriteria, parse_commerce_time
from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.ratelimit import OPERATION_TIERS, Tier
from connectors.errors import SkippableError
from schemas.email import InvalidEmail, normalize_email
from streams.runtime.retrying import retry_until_settled

T = TypeVar("T")

# Emails or order ids per `in` filter: short enough for any URL a proxy lets through.
IN_CHUNK = 50
# Dotdigital reads in flight at once; the limiter paces them, this bounds the wait queue.
READS_IN_FLIGHT = 4
FEED_PAGE = 5000


@dataclass(frozen=True)
class CommerceSide:
    """The window's orders with their buyers' other orders, and all their credit memos."""

    orders: list[dict[str, Any]]
    creditmemos: list[dict[str, Any]]


@dataclass(frozen=True)
class CallPlan:
    """Dotdigital calls a run makes: the contact feed's pages (Low), then one read of each
    buyer's Orders and Refunds and of each buyer the feed did not show (Medium)."""

    low: int
    medium: int

    @property
    def total(self) -> int:
        return self.low + self.medium


@dataclass
class DotdigitalSide:
    """Dotdigital's records of the contacts read, and those contacts' data fields."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any] | None] = field(default_factory=dict)


def chunks(values: Iterable[T], size: int = IN_CHUNK) -> list[list[T]]:
    items = list(values)
    return [items[start : start + size] for start in range(0, len(items), size)]


async def read_commerce(
    client: CommerceClient, since: datetime, until: datetime, page_size: int
) -> CommerceSide:
    """Orders placed in [since, until), every other order of their buyers (a contact's data
    fields count all of them), and every credit memo of those orders."""
    window = (
        SearchCriteria()
        .where("created_at", Condition.GTEQ, since)
        .where("created_at", Condition.LT, until)
    )
    orders: dict[str, dict[str, Any]] = {}
    async for item in client.iter_search("/V1/orders", window, page_size):
        orders[str(item.get("entity_id"))] = item
    emails = sorted({str(o["customer_email"]) for o in orders.values() if o.get("customer_email")})
    for part in chunks(emails):
        history = SearchCriteria().where("customer_email", Condition.IN, part)
        async for item in client.iter_search("/V1/orders", history, page_size):
            orders[str(item.get("entity_id"))] = item
    memos: dict[str, dict[str, Any]] = {}
    for ids in chunks(sorted(orders)):
        of_orders = SearchCriteria().where("order_id", Condition.IN, ids)
        async for item in client.iter_search("/V1/creditmemos", of_orders, page_size):
            memos[str(item.get("entity_id"))] = item
    return CommerceSide(list(orders.values()), list(memos.values()))


def unsettled(side: CommerceSide, cutoff: datetime) -> set[str]:
    """Orders (increment ids) Commerce changed after `cutoff`, themselves or by a credit memo:
    their events may still be on their way through the pipeline."""

    def recent(document: Mapping[str, Any]) -> bool:
        for name in ("updated_at", "created_at"):
            value = document.get(name)
            if isinstance(value, str):
                try:
                    if parse_commerce_time(value) > cutoff:
                        return True
                except ValueError:
                    continue
        return False

    by_id = {str(o.get("entity_id")): str(o.get("increment_id")) for o in side.orders}
    found = {str(o.get("increment_id")) for o in side.orders if recent(o)}
    found |= {
        by_id[str(m.get("order_id"))]
        for m in side.creditmemos
        if recent(m) and str(m.get("order_id")) in by_id
    }
    return found


def _email(value: object) -> str | None:
    try:
        return normalize_email(value) if isinstance(value, str) else None
    except InvalidEmail:
        return None


async def read_feed(
    client: DotdigitalClient, since: datetime, max_pages: int | None = None
) -> dict[str, dict[str, Any]]:
    """Every contact changed since `since`, with its data fields (Low: one call a page); past
    `max_pages` pages it stops one contact over, which is enough for the plan to refuse the run
    (a long window must not fill the memory and the Low budget before it is refused)."""

    async def read() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        async for contact in client.modified_contacts(since, FEED_PAGE, include=("dataFields",)):
            email = _email(contact.email)
            if email is not None:
                found[email] = contact.data_fields
            if max_pages is not None and len(found) > max_pages * FEED_PAGE:
                break
        return found

    return await retry_until_settled(read, asyncio.sleep)


def plan(feed_pages: int, buyers: Iterable[str], feed: Mapping[str, Any]) -> CallPlan:
    """The calls a run makes: the feed already read, a look-up of each buyer it did not show,
    and two listings (Orders, Refunds) per buyer."""
    people = set(buyers)
    return CallPlan(low=feed_pages, medium=len(people - set(feed)) + 2 * len(people))


async def read_dotdigital(
    client: DotdigitalClient,
    emails: Iterable[str],
    feed: Mapping[str, dict[str, Any]],
    *,
    orders_collection: str,
    refunds_collection: str,
) -> DotdigitalSide:
    """Each contact's Orders and Refunds records and data fields (from the feed, else read)."""
    side = DotdigitalSide()
    slots = asyncio.Semaphore(READS_IN_FLIGHT)

    async def settled(call: Callable[[], Awaitable[T]]) -> T:
        async with slots:
            return await retry_until_settled(call, asyncio.sleep)

    async def one(email: str) -> None:
        fields = feed.get(email)
        if fields is None:
            contact = await settled(lambda: client.get_contact(email))
            if contact is None:
                side.contacts[email] = None
                return
            fields = contact.data_fields
        side.contacts[email] = fields
        for collection, into in (
            (orders_collection, side.orders),
            (refunds_collection, side.refunds),
        ):
            for item in await settled(partial(_listing, client, email, collection)):
                if isinstance(item, dict) and isinstance(item.get("json"), dict):
                    into[str(item.get("key"))] = item["json"]

    await asyncio.gather(*(one(email) for email in sorted(set(emails))))
    return side


async def _listing(client: DotdigitalClient, email: str, collection: str) -> list[dict[str, Any]]:
    """The contact's records of `collection`; none when the collection does not exist yet."""
    try:
        return await client.list_contact_insight(email, collection)
    except SkippableError as error:
        if error.status == 404:
            return []
        raise


def calls_by_tier(client: DotdigitalClient) -> dict[str, int]:
    """The calls `client` made, per tier."""
    tiers: dict[str, int] = {}
    for operation, count in client.calls.items():
        tier = OPERATION_TIERS.get(operation, Tier.MEDIUM).value.lower()
        tiers[tier] = tiers.get(tier, 0) + count
    return tiers
