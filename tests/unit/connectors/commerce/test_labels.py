"""Label resolution: option ids to labels, one fetch per key, kept for a TTL on an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.commerce.labels import ResolvedOption, TtlCache
from connectors.errors import RetriableError
from tests.support.fakecommerce import FakeCommerce
from tests.support.faketime import FakeTime

COLOR = "/V1/products/attributes/color/options"
MUG_OPTIONS = "/V1/products/MUG-1/options"


@pytest.fixture
def store() -> FakeCommerce:
    fake = FakeCommerce()
    fake.attribute_options["color"] = [
        {"label": " ", "value": ""},  # Commerce lists a blank placeholder first
        {"label": "Red", "value": "12"},
        {"label": "Blue", "value": "13"},
        {"label": "Green", "value": "14"},
    ]
    fake.tables["products"] = [{"id": 5, "sku": "MUG-1"}]
    fake.product_options["MUG-1"] = [
        {
            "option_id": 3,
            "title": "Size",
            "type": "drop_down",
            "values": [
                {"option_type_id": 30, "title": "Large"},
                {"option_type_id": 31, "title": "Small"},
            ],
        },
        {
            "option_id": 4,
            "title": "Extras",
            "type": "checkbox",
            "values": [
                {"option_type_id": 40, "title": "Gift wrap"},
                {"option_type_id": 41, "title": "Card"},
            ],
        },
        {"option_id": 5, "title": "Engraving", "type": "field"},
    ]
    return fake


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def client(store: FakeCommerce, time: FakeTime, ttl: float = 600.0) -> CommerceClient:
    return CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=store.transport(),
        clock=time.clock,
        sleep=time.sleep,
        label_ttl=ttl,
    )


async def test_attribute_options_map_value_ids_to_labels_without_the_blank_placeholder(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        assert await commerce.attribute_options("color") == {
            "12": "Red",
            "13": "Blue",
            "14": "Green",
        }


async def test_repeated_lookups_make_one_http_call(store: FakeCommerce, time: FakeTime) -> None:
    async with client(store, time) as commerce:
        labels = [await commerce.labels.attribute_label("color", v) for v in ("12", 13, "12")]

    assert labels == ["Red", "Blue", "Red"]
    assert len(store.calls(COLOR)) == 1


async def test_labels_are_fetched_again_once_the_ttl_has_passed(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time, ttl=600.0) as commerce:
        await commerce.labels.attribute_label("color", "12")
        time.now += 599.0
        await commerce.labels.attribute_label("color", "12")
        store.attribute_options["color"][1]["label"] = "Crimson"
        time.now += 1.0
        relabelled = await commerce.labels.attribute_label("color", "12")

    assert relabelled == "Crimson"
    assert len(store.calls(COLOR)) == 2


async def test_multi_select_ids_become_joined_labels(store: FakeCommerce, time: FakeTime) -> None:
    async with client(store, time) as commerce:
        assert await commerce.labels.attribute_label("color", "12,14") == "Red, Green"
        assert await commerce.labels.attribute_label("color", "") is None
        assert await commerce.labels.attribute_label("color", None) is None


async def test_an_unknown_id_refetches_at_most_once_per_miss_interval_and_stays_as_it_is(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        await commerce.labels.attribute_label("color", "12")
        time.now += 61.0
        first = await commerce.labels.attribute_label("color", "12,99")  # refetched: maybe new
        second = await commerce.labels.attribute_label("color", "99")  # just refetched: not again

    assert first == "Red, 99"
    assert second == "99"
    assert len(store.calls(COLOR)) == 2


async def test_an_option_created_after_the_fetch_is_found_by_the_miss_refresh(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        await commerce.labels.attribute_label("color", "12")
        store.attribute_options["color"].append({"label": "Teal", "value": "15"})
        time.now += 120.0

        assert await commerce.labels.attribute_label("color", "15") == "Teal"


async def test_concurrent_lookups_of_one_key_share_one_fetch(
    store: FakeCommerce, time: FakeTime
) -> None:
    entered, gate = asyncio.Event(), asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        entered.set()
        await gate.wait()
        return store(request)

    async with CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=httpx.MockTransport(slow),
        clock=time.clock,
    ) as commerce:
        lookups = [
            asyncio.ensure_future(commerce.labels.attribute_label("color", v))
            for v in ("12", "13", "14", "12")
        ]
        await entered.wait()  # the first fetch is in flight; the other lookups are waiting
        gate.set()
        labels = await asyncio.gather(*lookups)

    assert labels == ["Red", "Blue", "Green", "Red"]
    assert len(store.calls(COLOR)) == 1


async def test_custom_option_values_resolve_to_titles(store: FakeCommerce, time: FakeTime) -> None:
    async with client(store, time) as commerce:
        size = await commerce.labels.custom_option("MUG-1", 3, "31")
        extras = await commerce.labels.custom_option("MUG-1", "4", "40,41")
        engraving = await commerce.labels.custom_option("MUG-1", 5, "For Sam, with love")
        unknown = await commerce.labels.custom_option("MUG-1", 9, "1")

    assert size == ResolvedOption("Size", "Small")
    assert extras == ResolvedOption("Extras", "Gift wrap, Card")
    assert engraving == ResolvedOption("Engraving", "For Sam, with love")
    assert unknown is None
    assert len(store.calls(MUG_OPTIONS)) == 1


async def test_unknown_products_and_attributes_are_cached_as_having_no_labels(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        assert await commerce.labels.custom_option("GONE", 3, "30") is None
        assert await commerce.labels.attribute_label("size", "7") == "7"
        assert await commerce.labels.custom_option("GONE", 3, "30") is None

    assert len(store.calls("/V1/products/GONE/options")) == 1


async def test_a_failed_fetch_is_not_cached() -> None:
    time = FakeTime()
    cache: TtlCache[str, str] = TtlCache(ttl=60.0, clock=time.clock)
    outcomes: list[str | Exception] = [RetriableError("HTTP 503"), "fresh"]

    async def fetch() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with pytest.raises(RetriableError):
        await cache.get("k", fetch)

    assert await cache.get("k", fetch) == "fresh"
    assert await cache.get("k", fetch) == "fresh"


async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    time = FakeTime()
    cache: TtlCache[str, str] = TtlCache(ttl=60.0, clock=time.clock, max_entries=2)
    fetched: list[str] = []

    def loader(key: str) -> Callable[[], Awaitable[str]]:
        async def fetch() -> str:
            fetched.append(key)
            return key.upper()

        return fetch

    for key in ("a", "b", "a", "c", "a", "b"):
        await cache.get(key, loader(key))

    assert fetched == ["a", "b", "c", "b"]
    assert len(cache) == 2
