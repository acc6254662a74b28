"""Cached labels: select-attribute option ids and custom-option value ids to what shoppers saw."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.errors import SkippableError

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Custom option types whose value is an option_type_id (comma-joined for checkbox/multiple);
# the others (field, area, file, date, time) carry the shopper's own text or a file URL.
VALUE_TYPES = frozenset({"drop_down", "radio", "checkbox", "multiple"})
MULTI_SEPARATOR = ", "


class TtlCache(Generic[K, V]):
    """Values kept `ttl` seconds on an injected clock, LRU-bounded; one fetch per key at a time."""

    def __init__(
        self, *, ttl: float, clock: Callable[[], float], max_entries: int = 10_000
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl and max_entries must be positive")
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._pending: dict[K, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, key: K, fetch: Callable[[], Awaitable[V]], *, max_age: float | None = None
    ) -> V:
        """The cached value if younger than `max_age` (default the TTL), else fetch it once.

        Concurrent callers of a missing key share one fetch and its outcome; a failed fetch
        is not cached, so the next call tries again.
        """
        limit = self._ttl if max_age is None else min(self._ttl, max_age)
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < limit:
            self._entries.move_to_end(key)
            return entry[1]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, fetch))
            # Retrieve the outcome even when every waiter was cancelled: no "never retrieved".
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._pending[key] = task
        # Shielded: one waiter's cancellation must not cancel the fetch the others wait on.
        return await asyncio.shield(task)

    async def _load(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await fetch()
        finally:
            self._pending.pop(key, None)
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class CustomOption:
    """One custom option of a product: its title, type and value titles by option_type_id."""

    option_id: str
    title: str
    type: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class ResolvedOption:
    """A custom option as the shopper saw it: its title and the chosen value(s) as text."""

    title: str
    value: str


class LabelResolver:
    """Turns option ids into labels, fetching each attribute's or product's options at most
    once per `ttl`; an id missing from a cached list refetches it, at most once per
    `miss_refresh` seconds, since it may be an option created after the fetch."""

    def __init__(
        self,
        attribute_options: Callable[[str], Awaitable[Mapping[str, str]]],
        product_options: Callable[[str], Awaitable[list[dict[str, Any]]]],
        *,
        ttl: float = 3600.0,
        miss_refresh: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._fetch_attribute = attribute_options
        self._fetch_product = product_options
        self._miss_refresh = miss_refresh
        self._attributes: TtlCache[str, Mapping[str, str]] = TtlCache(
            ttl=ttl, clock=clock, max_entries=max_entries
        )
        self._products: TtlCache[str, Mapping[str, CustomOption]] = TtlCache(
            ttl=ttl, clock=clock, max_entries=max_entries
        )

    async def attribute_labels(
        self, code: str, *, max_age: float | None = None
    ) -> Mapping[str, str]:
        """Option id → label of a select or multi-select attribute (empty if it is unknown)."""

        async def fetch() -> Mapping[str, str]:
            try:
                return await self._fetch_attribute(code)
            except SkippableError as error:
                if error.status == 404:
                    return {}
                raise

        return await self._attributes.get(code, fetch, max_age=max_age)

    async def attribute_label(self, code: str, value: str | int | None) -> str | None:
        """The label of an option id, or labels of comma-joined ids joined by `, `.

        None for an empty value; an id with no label stays as the id, so nothing is lost.
        """
        ids = split_ids(value)
        if not ids:
            return None
        labels = await self.attribute_labels(code)
        if any(i not in labels for i in ids):
            labels = await self.attribute_labels(code, max_age=self._miss_refresh)
        return join_labels(ids, labels, what=f"attribute {code}")

    async def custom_options(
        self, sku: str, *, max_age: float | None = None
    ) -> Mapping[str, CustomOption]:
        """The custom options of a product by option_id (empty if the product is unknown)."""

        async def fetch() -> Mapping[str, CustomOption]:
            try:
                return parse_custom_options(await self._fetch_product(sku))
            except SkippableError as error:
                if error.status == 404:
                    return {}
                raise

        return await self._products.get(sku, fetch, max_age=max_age)

    async def custom_option(
        self, sku: str, option_id: str | int, option_value: str | int | None
    ) -> ResolvedOption | None:
        """An order item's `{option_id, option_value}` as titles; None if the option is unknown.

        Select-like options map value ids (comma-joined for checkbox/multiple) to their
        titles; text, date and file options keep the value the shopper gave.
        """
        key = str(option_id)
        options = await self.custom_options(sku)
        option = options.get(key)
        ids = split_ids(option_value)
        stale = option is None or (
            option.type in VALUE_TYPES and any(i not in option.values for i in ids)
        )
        if stale:
            options = await self.custom_options(sku, max_age=self._miss_refresh)
            option = options.get(key)
        if option is None:
            return None
        if option.type not in VALUE_TYPES:
            return ResolvedOption(option.title, "" if option_value is None else str(option_value))
        value = join_labels(ids, option.values, what=f"option {key} of a product") or ""
        return ResolvedOption(option.title, value)


def split_ids(value: str | int | None) -> list[str]:
    """`"12,13"` → `["12", "13"]`; numbers and single ids become one-element lists."""
    if value is None or isinstance(value, bool):
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def join_labels(ids: list[str], labels: Mapping[str, str], *, what: str) -> str | None:
    """The labels of `ids` joined by `, `; unknown ids are kept as they are."""
    if not ids:
        return None
    missing = [i for i in ids if i not in labels]
    if missing:
        logger.info("commerce label not found", extra={"what": what, "ids": missing})
    return MULTI_SEPARATOR.join(labels.get(i, i) for i in ids)


def parse_attribute_options(rows: Any) -> dict[str, str]:
    """`[{"label", "value"}]` → value id → label, without the blank placeholder Commerce lists first."""
    if not isinstance(rows, list):
        return {}
    options = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        value, label = row.get("value"), row.get("label")
        if value is None or str(value).strip() == "" or label is None:
            continue
        options[str(value).strip()] = str(label)
    return options


def parse_custom_options(rows: Any) -> dict[str, CustomOption]:
    """`[{"option_id","title","type","values":[{"option_type_id","title"}]}]` by option_id."""
    if not isinstance(rows, list):
        return {}
    options = {}
    for row in rows:
        if not isinstance(row, dict) or row.get("option_id") is None:
            continue
        values = {
            str(value["option_type_id"]): str(value.get("title", ""))
            for value in row.get("values") or []
            if isinstance(value, dict) and value.get("option_type_id") is not None
        }
        option_id = str(row["option_id"])
        options[option_id] = CustomOption(
            option_id, str(row.get("title", "")), str(row.get("type", "")), values
        )
    return options
