"""Delta reads by `updated_at` against the store simulator: shared seconds, overlap, resuming."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import orjson
import pytest

from connectors.commerce.delta import DeltaCheckpoint, DeltaPage, entity_key
from connectors.commerce.search import SearchCriteria, commerce_time
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import Commerce, commerce_sandbox

UPDATED_AT_FROM = "searchCriteria[filter_groups][0][filters][0][value]"
PAGE = "searchCriteria[currentPage]"
OVERLAP = timedelta(minutes=1)


def store_with_a_burst(orders: int) -> Store:
    """Two early orders, then `orders` orders saved within one second a minute later."""
    store = Store(seed=13, client_id=CLIENT_ID)
    shopper = store.guest("burst@example.com", "Burst", "Buyer")
    for _ in range(2):
        store.place_order(shopper, [store.catalogue.line("24-MB04")])
        store.clock.advance(20)
    store.clock.advance(20)
    for _ in range(orders):
        store.place_order(shopper, [store.catalogue.line("24-WG084")])
    return store


async def read(
    commerce: Commerce, path: str, since: datetime | DeltaCheckpoint, page_size: int = 5
) -> list[DeltaPage]:
    return [page async for page in commerce.client.iter_delta(path, since, page_size=page_size)]


def versions(pages: list[DeltaPage], id_field: str = "entity_id") -> list[tuple[int, str]]:
    return [(item[id_field], item["updated_at"]) for page in pages for item in page.items]


def stored(checkpoint: DeltaCheckpoint) -> DeltaCheckpoint:
    """Through JSON and back, as a checkpoint store would keep it."""
    return DeltaCheckpoint.from_dict(orjson.loads(orjson.dumps(checkpoint.as_dict())))


async def test_orders_sharing_one_second_are_each_read_once_across_pages() -> None:
    async with commerce_sandbox(store_with_a_burst(13)) as commerce:
        store = commerce.store
        since = store.clock.start

        pages = await read(commerce, "/V1/orders", since)

        read_ids = [entity_id for entity_id, _ in versions(pages)]
        assert read_ids == sorted(store.orders) and len(read_ids) == 15
        burst_second = commerce_time(store.clock.now())
        sent = commerce.searches("/V1/orders")
        # Restarted from the burst's second, then paged by offset through it.
        assert [(p[UPDATED_AT_FROM], p[PAGE]) for p in sent[1:]] == [
            (burst_second, "1"),
            (burst_second, "2"),
            (burst_second, "3"),
        ]
        assert pages[-1].checkpoint.watermark == store.clock.now()


Touch = Callable[[Store, int], None]


def register(store: Store, n: int) -> None:
    store.register(f"shopper{n}@example.com", "Shop", f"Per{n}")


def open_cart(store: Store, n: int) -> None:
    store.open_cart()


def update_product(store: Store, n: int) -> None:
    skus = sorted(store.catalogue.products)
    store.update_product(skus[n], name=f"Renamed {n}")


@pytest.mark.parametrize(
    ("path", "touch"),
    [
        ("/V1/customers/search", register),
        ("/V1/carts/search", open_cart),
        ("/V1/products", update_product),
    ],
)
async def test_entities_keyed_by_id_but_sorted_by_entity_id_are_each_read_once(
    path: str, touch: Touch
) -> None:
    store = Store(seed=14, client_id=CLIENT_ID)
    store.clock.advance(3600)
    for n in range(11):
        touch(store, n)
    async with commerce_sandbox(store) as commerce:
        key = entity_key(path)
        assert (key.id_field, key.sort_field) == ("id", "entity_id")

        pages = await read(commerce, path, store.clock.now(), page_size=4)
        by_entity_id_desc = await commerce.client.search(
            path,
            SearchCriteria()
            .where("updated_at", "gteq", store.clock.now())
            .sort("entity_id", "DESC"),
        )

        read_ids = [entity_id for entity_id, _ in versions(pages, "id")]
        assert len(read_ids) == 11 and len(set(read_ids)) == 11
        assert read_ids == sorted(read_ids)
        # The tie-breaker is a column the store sorts by, not one it silently ignores.
        assert [item["id"] for item in by_entity_id_desc.items] == sorted(read_ids, reverse=True)
        sent = commerce.searches(path)[0]
        assert sent["searchCriteria[sortOrders][1][field]"] == "entity_id"


async def test_a_resumed_run_reads_only_what_changed_after_its_checkpoint() -> None:
    async with commerce_sandbox(store_with_a_burst(8)) as commerce:
        store = commerce.store
        first = await read(commerce, "/V1/orders", store.clock.start)
        checkpoint = stored(first[-1].checkpoint)
        ids = sorted(store.orders)

        changed_at = commerce_time(store.clock.advance(30))
        store.invoice(store.orders[ids[3]])
        store.ship(store.orders[ids[5]])
        held_at = commerce_time(store.clock.advance(90))
        store.hold(store.orders[ids[8]])
        sent_before = len(commerce.searches("/V1/orders"))

        second = await read(commerce, "/V1/orders", checkpoint, page_size=2)

        assert versions(second) == [(ids[3], changed_at), (ids[5], changed_at), (ids[8], held_at)]
        # The overlap was really re-read (from a minute before the watermark) and skipped.
        resumed = commerce.searches("/V1/orders")[sent_before]
        assert checkpoint.watermark is not None
        assert resumed[UPDATED_AT_FROM] == commerce_time(checkpoint.watermark - OVERLAP)

        third = await read(commerce, "/V1/orders", stored(second[-1].checkpoint))
        assert third == []


async def test_a_run_stopped_after_its_first_page_resumes_without_gaps_or_duplicates() -> None:
    async with commerce_sandbox(store_with_a_burst(9)) as commerce:
        store = commerce.store
        pages = commerce.client.iter_delta("/V1/orders", store.clock.start, page_size=4)
        first = await anext(pages)
        # The worker is killed here: nothing more is read from this run.

        rest = await read(commerce, "/V1/orders", stored(first.checkpoint), page_size=4)

        read_ids = [entity_id for entity_id, _ in versions([first, *rest])]
        assert read_ids == sorted(store.orders)


async def test_rows_saved_while_a_delta_pages_through_one_second_are_not_lost() -> None:
    async with commerce_sandbox(store_with_a_burst(10)) as commerce:
        store = commerce.store
        ids = sorted(store.orders)
        burst = ids[2:]
        pages = commerce.client.iter_delta(
            "/V1/orders", store.clock.now() - timedelta(seconds=1), page_size=4
        )
        first = await anext(pages)
        assert [item["entity_id"] for item in first.items] == burst[:4]

        # Saved a second later, between two of our requests: one row we read, one we had not
        # reached yet (it moves to the end, behind our offset), and a new order.
        store.clock.advance(1)
        store.invoice(store.orders[burst[1]])
        store.invoice(store.orders[burst[6]])
        new = store.place_order(store.guest("late@example.com", "Late", "Buyer"),
                                [store.catalogue.line("24-MB04")])  # fmt: skip
        rest = [page async for page in pages]

        read_after = [item["entity_id"] for page in rest for item in page.items]
        unchanged = [i for i in burst[4:] if i != burst[6]]
        assert read_after == [*unchanged, burst[1], burst[6], new.entity_id]
        assert len(versions([first, *rest])) == len(set(versions([first, *rest])))
