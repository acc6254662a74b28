"""Products their save events marked stale: the `product:<sku>` records of the raw topic since the
catalogue sync last looked, re-read by SKU after the delta even when their `updated_at` did not
move (a save Commerce did not date, a change the delta's de-duplication would skip).

The raw topic is the marks' durable store: a product save is on it once its event is accepted,
nothing is read from Commerce on the way, and the sync keeps, in its own cursor, how far it has
looked (`stale_from`: raw partition → next offset). The position moves only once every stale SKU
has been re-read and sent, so a restart, a crash or a sync that fails half-way loses no mark,
and a save arriving during a sync is marked for the next one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.commerce.client import CommerceClient
from connectors.commerce.delta import DeltaCheckpoint, DeltaPage
from connectors.commerce.search import SearchCriteria
from schemas.contract.topics import RAW
from streams.runtime.catch_up import Record, read_to_end, topic_ends

log = logging.getLogger(__name__)

# The raw topic's key of a product save (schemas/commerce/events.py, `raw_key`).
PRODUCT_KEY = b"product:"
# Where the sync's cursor document keeps how far it has looked for marks.
POSITION = "stale_from"
# Seconds the read of the raw topic since the last look may take: a scheduled sync reads one
# interval's traffic in moments, a command run after a long pause may have days of it to read.
READ_TIMEOUT = 600.0


@dataclass(frozen=True)
class StaleMarks:
    """The SKUs marked since the last look (in the order marked), and where the look ended."""

    skus: tuple[str, ...]
    ends: dict[int, int]


async def stale_marks(
    bootstrap: str, state: dict[str, Any], *, fetch_max_wait_ms: int = 100
) -> StaleMarks:
    """The marks since `state`'s position; none, with the raw topic's ends, when it has none
    (a first or full sync reads every product anyway)."""
    saved = state.get(POSITION)
    if not isinstance(saved, dict):
        ends = await topic_ends(bootstrap, RAW, fetch_max_wait_ms=fetch_max_wait_ms)
        return StaleMarks((), ends)
    start = {int(partition): int(offset) for partition, offset in saved.items()}
    marked: dict[str, None] = {}

    def keep(record: Record) -> None:
        key = record.key or b""
        if key.startswith(PRODUCT_KEY):
            marked[key[len(PRODUCT_KEY) :].decode(errors="replace")] = None

    ends = await read_to_end(bootstrap, RAW, keep, start=start, fetch_max_wait_ms=fetch_max_wait_ms)
    return StaleMarks(tuple(marked), {**start, **ends})


def cleared(state: dict[str, Any], marks: StaleMarks) -> dict[str, Any]:
    """`state` with the marks read counted as done (save it once they are sent)."""
    return {**state, POSITION: {str(partition): offset for partition, offset in marks.ends.items()}}


async def with_stale(
    client: CommerceClient,
    delta: AsyncIterator[DeltaPage],
    stale: Sequence[str],
    since: DeltaCheckpoint | None,
    page_size: int,
) -> AsyncIterator[DeltaPage]:
    """The delta's pages, then the stale SKUs it did not read, `sku in` one page a call (a SKU
    with a comma, which `in` would split, read on its own); their pages keep the delta's last
    checkpoint, so storing it changes nothing."""
    read: set[str] = set()
    checkpoint = since or DeltaCheckpoint()
    async for page in delta:
        read.update(str(row.get("sku")) for row in page.items)
        checkpoint = page.checkpoint
        yield page
    left = [sku for sku in stale if sku not in read]
    listed = [sku for sku in left if "," not in sku]
    for first in range(0, len(listed), page_size):
        chunk = listed[first : first + page_size]
        criteria = SearchCriteria().where("sku", "in", ",".join(chunk)).page(len(chunk), 1)
        result = await client.products(criteria)
        yield DeltaPage(list(result.items), checkpoint)
    for sku in (sku for sku in left if "," in sku):
        product = await client.product(sku)
        yield DeltaPage([product] if product is not None else [], checkpoint)
