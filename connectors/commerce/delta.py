"""Delta reads by `updated_at`: overlap, ascending order, and de-duplication across pages and runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.commerce.pagination import (
    Item,
    SearchResult,
    check_page,
    is_last_page,
    is_past_end,
)
from connectors.commerce.search import (
    COMMERCE_TIME,
    Condition,
    Direction,
    SearchCriteria,
    commerce_time,
    parse_commerce_time,
)
from connectors.errors import FatalError

UPDATED_AT = "updated_at"
DEFAULT_OVERLAP = timedelta(minutes=1)

Key = tuple[str, str]
"""(entity id, `updated_at`): one version of one entity."""


@dataclass(frozen=True)
class EntityKey:
    """Where an endpoint's items keep their id, and the sortable column that breaks ties."""

    id_field: str
    sort_field: str | None


# Sales documents carry `entity_id`; customers, carts and products call it `id` in the reply
# but sort by the `entity_id` column.
ENTITY_KEYS: dict[str, EntityKey] = {
    "/V1/orders": EntityKey("entity_id", "entity_id"),
    "/V1/creditmemos": EntityKey("entity_id", "entity_id"),
    "/V1/shipments": EntityKey("entity_id", "entity_id"),
    "/V1/customers/search": EntityKey("id", "entity_id"),
    "/V1/carts/search": EntityKey("id", "entity_id"),
    "/V1/products": EntityKey("id", "entity_id"),
}


def entity_key(path: str) -> EntityKey:
    """The key of a known search endpoint; others are read by `entity_id` without a tie-breaker."""
    return ENTITY_KEYS.get(path, EntityKey("entity_id", None))


@dataclass(frozen=True)
class DeltaCheckpoint:
    """Where a delta read stands: the highest `updated_at` emitted, and the versions already
    emitted within the overlap below it, so a resumed run re-reads the overlap but skips them."""

    watermark: datetime | None = None
    seen: frozenset[Key] = frozenset()

    def lower_bound(self, overlap: timedelta) -> datetime | None:
        """Where the next run starts reading: the watermark less the overlap."""
        return None if self.watermark is None else self.watermark - overlap

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for a checkpoint store."""
        watermark = None if self.watermark is None else commerce_time(self.watermark)
        return {"watermark": watermark, "seen": [list(key) for key in sorted(self.seen)]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeltaCheckpoint:
        """Inverse of `as_dict`; raises ValueError on anything else."""
        watermark = data.get("watermark")
        seen = data.get("seen", [])
        if watermark is not None and not isinstance(watermark, str):
            raise ValueError("checkpoint watermark must be a Commerce timestamp or null")
        if not isinstance(seen, list) or not all(
            isinstance(k, list) and len(k) == 2 and all(isinstance(p, str) for p in k) for k in seen
        ):
            raise ValueError("checkpoint seen must be a list of [id, updated_at] pairs")
        moment = None if watermark is None else parse_commerce_time(watermark)
        return cls(moment, frozenset((k[0], k[1]) for k in seen))


@dataclass(frozen=True)
class DeltaPage:
    """Rows not emitted before, and the checkpoint to store once they are safely handled."""

    items: list[Item]
    checkpoint: DeltaCheckpoint


class DeltaTracker:
    """Pure de-duplication state: admits each (id, `updated_at`) once and moves the watermark."""

    def __init__(
        self,
        checkpoint: DeltaCheckpoint | None = None,
        *,
        overlap: timedelta,
        id_field: str,
    ) -> None:
        checkpoint = checkpoint or DeltaCheckpoint()
        self.overlap = overlap
        self.id_field = id_field
        self.watermark = checkpoint.watermark
        self._seen = {key: parse_commerce_time(key[1]) for key in checkpoint.seen}

    def admit(self, items: Iterable[Item]) -> list[Item]:
        """The items whose version is new; remembers them and raises the watermark."""
        fresh = []
        for item in items:
            moment = updated_at(item)
            key = (entity_id(item, self.id_field), commerce_time(moment))
            if key in self._seen:
                continue
            self._seen[key] = moment
            fresh.append(item)
            if self.watermark is None or moment > self.watermark:
                self.watermark = moment
        self._forget_below_overlap()
        return fresh

    def checkpoint(self) -> DeltaCheckpoint:
        return DeltaCheckpoint(self.watermark, frozenset(self._seen))

    def _forget_below_overlap(self) -> None:
        # Rows older than the next run's lower bound will not be read again: forget them,
        # which keeps memory bounded by the rows inside one overlap window.
        if self.watermark is None:
            return
        floor = self.watermark - self.overlap
        self._seen = {key: moment for key, moment in self._seen.items() if moment >= floor}


def updated_at(item: Item) -> datetime:
    """An item's `updated_at` as an aware UTC datetime; without one a delta read cannot work."""
    value = item.get(UPDATED_AT)
    if not isinstance(value, str):
        raise FatalError(f"search item has no {UPDATED_AT} ({COMMERCE_TIME} expected)")
    try:
        return parse_commerce_time(value)
    except ValueError:
        raise FatalError(f"search item has an unreadable {UPDATED_AT}: {value!r}") from None


def entity_id(item: Item, id_field: str) -> str:
    """An item's id as text (ids arrive as numbers or strings)."""
    value = item.get(id_field)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise FatalError(f"search item has no usable {id_field}")
    return str(value)


def delta_criteria(
    lower: datetime | None,
    *,
    page: int,
    page_size: int,
    tie_breaker: str | None,
    base: SearchCriteria | None = None,
) -> SearchCriteria:
    """`base` + `updated_at gteq lower`, sorted `updated_at` ASC then the tie-breaker ASC."""
    criteria = base or SearchCriteria()
    if criteria.sort_orders or criteria.page_size is not None or criteria.current_page is not None:
        raise ValueError("delta reads choose their own sort order and paging")
    if lower is not None:
        criteria = criteria.where(UPDATED_AT, Condition.GTEQ, lower)
    criteria = criteria.sort(UPDATED_AT, Direction.ASC)
    if tie_breaker is not None:
        criteria = criteria.sort(tie_breaker, Direction.ASC)
    return criteria.page(page_size, page)


async def delta_pages(
    fetch: Callable[[SearchCriteria], Awaitable[SearchResult]],
    since: datetime | DeltaCheckpoint,
    *,
    overlap: timedelta,
    page_size: int,
    key: EntityKey,
    base: SearchCriteria | None = None,
    where: str = "delta",
) -> AsyncIterator[DeltaPage]:
    """Read everything updated at or after `since`, each version once.

    A stored checkpoint resumes from its watermark less `overlap` (rows committed late carry
    an earlier `updated_at`), skipping the versions it lists; a datetime starts exactly there.

    Each time a page reaches a later second the read restarts at page 1 from that second
    (`updated_at gteq <latest seen>`), so rows saved while we read move to the end instead of
    shifting unseen rows behind our offset; only a block of rows sharing one second is paged
    by offset. Pages with nothing new are not yielded.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    if overlap < timedelta(0):
        raise ValueError("overlap cannot be negative")
    if isinstance(since, DeltaCheckpoint):
        tracker = DeltaTracker(since, overlap=overlap, id_field=key.id_field)
        lower = since.lower_bound(overlap)
    else:
        tracker = DeltaTracker(overlap=overlap, id_field=key.id_field)
        lower = since
    page = 1
    previous: list[Item] | None = None
    while True:
        criteria = delta_criteria(
            lower, page=page, page_size=page_size, tie_breaker=key.sort_field, base=base
        )
        result = await fetch(criteria)
        if is_past_end(page, page_size, result.total_count) or result.items == previous:
            return
        check_page(result, page, page_size, where)
        moments = [updated_at(item) for item in result.items]
        if moments != sorted(moments):
            raise FatalError(f"{where}: rows are not in ascending {UPDATED_AT} order")
        fresh = tracker.admit(result.items)
        if fresh:
            yield DeltaPage(fresh, tracker.checkpoint())
        if is_last_page(page, page_size, result.total_count) or not moments:
            return
        if lower is None or moments[-1] > lower:
            lower, page, previous = moments[-1], 1, None
        else:
            page, previous = page + 1, result.items
