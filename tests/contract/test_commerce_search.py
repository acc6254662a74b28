"""searchCriteria against the store simulator: every condition, OR and AND, sorting, paging."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from connectors.commerce.search import Filter, SearchCriteria
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import Commerce, commerce_sandbox

ADA, GRACE = "ada@example.com", "grace@example.com"
PAGE_SIZE = "searchCriteria[pageSize]"
CURRENT_PAGE = "searchCriteria[currentPage]"


def nth(store: Store, n: int) -> Order:
    """The n-th order placed (0-based); the shop places them a minute apart."""
    return store.orders[sorted(store.orders)[n]]


@dataclass(frozen=True)
class Case:
    """A search and, computed from the store's own objects, which orders it must find."""

    criteria: Callable[[Store], SearchCriteria]
    wanted: Callable[[Store, Order], bool]


CASES: dict[str, Case] = {
    "eq": Case(
        lambda s: SearchCriteria().where("customer_email", "eq", ADA),
        lambda s, o: o.email == ADA,
    ),
    "neq": Case(
        lambda s: SearchCriteria().where("status", "neq", "pending"),
        lambda s, o: o.status != "pending",
    ),
    "gt number": Case(
        lambda s: SearchCriteria().where("grand_total", "gt", float(nth(s, 4).grand_total)),
        lambda s, o: o.grand_total > nth(s, 4).grand_total,
    ),
    "gteq number": Case(
        lambda s: SearchCriteria().where("grand_total", "gteq", float(nth(s, 4).grand_total)),
        lambda s, o: o.grand_total >= nth(s, 4).grand_total,
    ),
    "lt number": Case(
        lambda s: SearchCriteria().where("grand_total", "lt", float(nth(s, 4).grand_total)),
        lambda s, o: o.grand_total < nth(s, 4).grand_total,
    ),
    "lteq number": Case(
        lambda s: SearchCriteria().where("grand_total", "lteq", float(nth(s, 4).grand_total)),
        lambda s, o: o.grand_total <= nth(s, 4).grand_total,
    ),
    "gt date": Case(
        lambda s: SearchCriteria().where("created_at", "gt", nth(s, 2).created_at),
        lambda s, o: o.created_at > nth(s, 2).created_at,
    ),
    "gteq date": Case(
        lambda s: SearchCriteria().where("created_at", "gteq", nth(s, 2).created_at),
        lambda s, o: o.created_at >= nth(s, 2).created_at,
    ),
    "lt date": Case(
        lambda s: SearchCriteria().where("created_at", "lt", nth(s, 2).created_at),
        lambda s, o: o.created_at < nth(s, 2).created_at,
    ),
    "lteq date": Case(
        lambda s: SearchCriteria().where("created_at", "lteq", nth(s, 2).created_at),
        lambda s, o: o.created_at <= nth(s, 2).created_at,
    ),
    "in": Case(
        lambda s: SearchCriteria().where(
            "entity_id", "in", [nth(s, 0).entity_id, nth(s, 3).entity_id]
        ),
        lambda s, o: o.entity_id in (nth(s, 0).entity_id, nth(s, 3).entity_id),
    ),
    "nin": Case(
        lambda s: SearchCriteria().where(
            "increment_id", "nin", [nth(s, 1).increment_id, nth(s, 2).increment_id]
        ),
        lambda s, o: o.increment_id not in (nth(s, 1).increment_id, nth(s, 2).increment_id),
    ),
    "like with % (any case)": Case(
        lambda s: SearchCriteria().where("customer_email", "like", "A%@EXAMPLE.com"),
        lambda s, o: o.email.startswith("a"),
    ),
    "null": Case(
        lambda s: SearchCriteria().where("customer_id", "null"),
        lambda s, o: o.customer_id is None,
    ),
    "notnull": Case(
        lambda s: SearchCriteria().where("customer_id", "notnull"),
        lambda s, o: o.customer_id is not None,
    ),
    "from/to": Case(
        lambda s: SearchCriteria().between(
            "created_at", nth(s, 1).created_at, nth(s, 3).created_at
        ),
        lambda s, o: nth(s, 1).created_at <= o.created_at <= nth(s, 3).created_at,
    ),
    "finset": Case(
        lambda s: SearchCriteria().where("coupon_code", "finset", "FREESHIP"),
        lambda s, o: "FREESHIP" in (o.coupon or "").split(","),
    ),
    "OR within a group": Case(
        lambda s: SearchCriteria().any_of(
            Filter.of("customer_email", "eq", ADA), Filter.of("customer_email", "eq", GRACE)
        ),
        lambda s, o: o.email in (ADA, GRACE),
    ),
    "AND across groups": Case(
        lambda s: (
            SearchCriteria().where("customer_email", "eq", ADA).where("status", "eq", "pending")
        ),
        lambda s, o: o.email == ADA and o.status == "pending",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_each_condition_finds_exactly_the_orders_it_describes(
    commerce: Commerce, case: Case
) -> None:
    store = commerce.store
    wanted = sorted(o.entity_id for o in store.orders.values() if case.wanted(store, o))

    result = await commerce.client.orders(case.criteria(store))

    assert 0 < len(wanted) < len(store.orders)  # each case tells some orders from others
    assert sorted(item["entity_id"] for item in result.items) == wanted
    assert result.total_count == len(wanted)


async def test_finset_matches_whole_members_of_a_comma_separated_column_only(
    commerce: Commerce,
) -> None:
    found = await commerce.client.orders(SearchCriteria().where("coupon_code", "finset", "FREE"))
    assert (found.total_count, found.items) == (0, [])


async def test_customers_and_products_filter_on_their_own_columns(commerce: Commerce) -> None:
    customers = await commerce.client.search_customers(
        SearchCriteria().where("email", "like", "%@example.com").where("lastname", "neq", "Turing")
    )
    products = await commerce.client.products(
        SearchCriteria().where("color", "eq", 49).where("price", "lt", 50)
    )

    assert [item["email"] for item in customers.items] == [ADA]
    black_under_50 = [
        p.sku
        for p in commerce.store.catalogue.products.values()
        if p.attributes.get("color") == 49 and p.price < 50
    ]
    assert sorted(item["sku"] for item in products.items) == sorted(black_under_50)
    assert len(black_under_50) > 1


async def test_sorts_come_back_in_the_direction_sent(commerce: Commerce) -> None:
    ascending = await commerce.client.orders(SearchCriteria().sort("grand_total"))
    descending = await commerce.client.orders(SearchCriteria().sort("created_at", "DESC"))
    two_keys = await commerce.client.orders(
        SearchCriteria().sort("customer_email", "ASC").sort("entity_id", "DESC")
    )

    totals = [item["grand_total"] for item in ascending.items]
    assert totals == sorted(totals) and len(set(totals)) > 1
    created = [item["created_at"] for item in descending.items]
    assert created == sorted(created, reverse=True) and len(set(created)) > 1
    keys = [(item["customer_email"], -item["entity_id"]) for item in two_keys.items]
    assert keys == sorted(keys)
    assert commerce.searches("/V1/orders")[0]["searchCriteria[sortOrders][0][direction]"] == "ASC"


async def test_a_sort_without_a_direction_comes_back_descending(commerce: Commerce) -> None:
    reply = await commerce.raw_search(
        "/V1/orders", {"searchCriteria[sortOrders][0][field]": "grand_total"}
    )

    totals = [item["grand_total"] for item in reply["items"]]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) > 1


def burst(orders: int) -> Store:
    """A store with `orders` orders placed in one second."""
    store = Store(seed=12, client_id=CLIENT_ID)
    shopper = store.guest("burst@example.com", "Burst", "Buyer")
    for _ in range(orders):
        store.place_order(shopper, [store.catalogue.line("24-WG084")])
    return store


@pytest.mark.parametrize("page_size", [4, 5])
async def test_iter_search_reads_each_order_once_and_never_asks_past_total_count(
    page_size: int,
) -> None:
    async with commerce_sandbox(burst(12)) as commerce:
        seen = [
            item["entity_id"]
            async for item in commerce.client.iter_search("/V1/orders", page_size=page_size)
        ]

        assert seen == sorted(commerce.store.orders)
        sent = commerce.searches("/V1/orders")
        pages = math.ceil(12 / page_size)
        assert [(p[PAGE_SIZE], p[CURRENT_PAGE]) for p in sent] == [
            (str(page_size), str(page)) for page in range(1, pages + 1)
        ]
        # What a client that waited for an empty page would have been given next:
        past_end = await commerce.raw_search(
            "/V1/orders",
            {
                **{k: v for k, v in sent[-1].items() if k != CURRENT_PAGE},
                CURRENT_PAGE: str(pages + 1),
            },
        )
        assert [item["entity_id"] for item in past_end["items"]] == seen[(pages - 1) * page_size :]


async def test_iter_search_reads_a_store_history_once() -> None:
    config = CommerceSandboxConfig(client_id=CLIENT_ID, history_orders=40)
    async with commerce_sandbox(config=config) as commerce:
        customers = [
            item["id"]
            async for item in commerce.client.iter_search("/V1/customers/search", page_size=7)
        ]
        orders = [
            item["entity_id"]
            async for item in commerce.client.iter_search("/V1/orders", page_size=7)
        ]

        assert orders == sorted(commerce.store.orders) and len(orders) >= 40
        assert customers == sorted(commerce.store.customers)
        assert len(commerce.searches("/V1/orders")) == math.ceil(len(orders) / 7)


async def test_no_page_size_returns_every_row() -> None:
    async with commerce_sandbox(burst(45)) as commerce:
        result = await commerce.client.orders(SearchCriteria())

        assert result.total_count == 45
        assert sorted(item["entity_id"] for item in result.items) == sorted(commerce.store.orders)
        assert commerce.searches("/V1/orders") == [{"searchCriteria": ""}]
