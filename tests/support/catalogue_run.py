"""A catalogue sync beside order traffic on the real stack: the store's catalogue grown, guest
orders placed through the store (their events delivered signed to the worker), and what the
Dotdigital sandbox counts, read through its admin routes so reading spends no budget."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sandbox.commerce.simulator.store import Store
from tests.support.stack import Stack

CATALOGUE = "Catalog_Default"
# The merchant's mapping the catalogue tests and the benchmark sync with.
FIELDS = """
[fields]
brand = "brand"
color = "colour"
material = "material"
activity = "activity"
"""
ORDERS = "Orders"
# A product of the store's own catalogue every order buys.
SKU = "24-MB01"
_shoppers = itertools.count(1)


@dataclass(frozen=True)
class Counts:
    """What the sandbox counted at one moment: calls per tier, 429s, records per collection,
    and imports accepted per collection (contact imports under "contacts")."""

    at: float
    calls: dict[str, int]
    rate_limited: int
    collections: dict[str, int]
    imports: dict[str, int]

    def low(self) -> int:
        return self.calls.get("low", 0)

    def records(self, collection: str) -> int:
        return self.collections.get(collection, 0)

    def imported(self, collection: str) -> int:
        return self.imports.get(collection, 0)


def counts(stack: Stack) -> Counts:
    stats = stack.dotdigital.admin("stats")
    return Counts(
        time.time(),
        dict(stats["calls"]),
        int(stats["rate_limited"]),
        dict(stats["collections"]),
        dict(stats.get("imports", {})),
    )


def counts_once(stack: Stack, holds: Callable[[Counts], bool]) -> Callable[[], Counts | None]:
    """A probe for `eventually`: the counts once `holds(counts)`, else None."""

    def probe() -> Counts | None:
        now = counts(stack)
        return now if holds(now) else None

    return probe


def grow(stack: Stack, products: int, seed: int = 16) -> int:
    """Add `products` generated products to the store; how many products it has now."""

    def add(store: Store) -> int:
        store.catalogue.grow(products, seed=seed)
        return len(store.catalogue.products)

    return stack.commerce.act(add)


def place_orders(stack: Stack, count: int) -> dict[str, float]:
    """`count` guest orders of one line each, placed now: increment id → when (epoch seconds)."""
    placed: dict[str, float] = {}
    for _ in range(count):
        number = next(_shoppers)

        def order(store: Store, number: int = number) -> str:
            shopper = store.guest(f"catalogue.buyer.{number}@example.com", "Ada", f"B{number}")
            return store.place_order(shopper, [store.catalogue.line(SKU, 1)]).increment_id

        at = time.time()
        placed[stack.commerce.act(order)] = at
    return placed


def orders_landed(stack: Stack) -> dict[str, float]:
    """Every Orders record in Dotdigital: its key (the increment id) → when Dotdigital stored it."""
    landed: dict[str, float] = {}
    for contact in stack.dotdigital.admin("contacts")["contacts"]:
        for record in contact.get("insight", {}).get(ORDERS, []):
            created = datetime.fromisoformat(record["created"].replace("Z", "+00:00"))
            landed[str(record["key"])] = created.astimezone(UTC).timestamp()
    return landed


def latencies(placed: dict[str, float], landed: dict[str, float]) -> list[float]:
    """Seconds from placing each order to Dotdigital storing its record, for those landed."""
    return sorted(landed[key] - at for key, at in placed.items() if key in landed)


def within_budget(low_calls: int, minutes: float, per_minute: float) -> bool:
    """Whether `low_calls` fit the Low budget over `minutes`, with one window's burst: the
    account counts fixed minutes, so a run that touches N windows may spend N budgets."""
    return low_calls <= per_minute * minutes + per_minute


def catalogue_env(stack: Stack, logs: Path, **extra: str) -> dict[str, str]:
    """The worker's settings for `cartwright catalogue sync`, its checkpoint under `logs`."""
    return {
        **stack.env,
        "CARTWRIGHT_CATALOGUE__CHECKPOINT": str(logs / "catalogue.json"),
        "CARTWRIGHT_CATALOGUE__STORE_URL": "https://shop.example.com/",
        **extra,
    }
