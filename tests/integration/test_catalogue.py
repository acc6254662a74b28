"""`cartwright catalogue sync` on the real stack: a generated store's products reach Dotdigital's
`Catalog_Default` through the worker's batch lane with their mapped attributes as labels, a
product without a mapped attribute is one exception naming its SKU while its record still
lands, a second sync with no changes sends nothing, and Orders lines carry the mapped attributes
the sync published, also once the buyer's email changed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.contract.topics import EXCEPTIONS, RAW
from tests.support.cli import cartwright
from tests.support.stack import Stack, eventually, read_all, read_topic, running_stack

pytestmark = pytest.mark.integration

PRODUCTS = 300
MAPPING = """
[fields]
brand = "brand"
color = "colour"
material = "material"
activity = "activity"

[orders]
lines = ["brand"]
"""


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("catalogue")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(logs, CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5") as running:
        yield running


def sync(stack: Stack, logs: Path, *args: str) -> str:
    mapping = logs / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    env = {
        **stack.env,
        "CARTWRIGHT_CATALOGUE__MAPPING": str(mapping),
        "CARTWRIGHT_CATALOGUE__CHECKPOINT": str(logs / "catalogue.json"),
        "CARTWRIGHT_CATALOGUE__STORE_URL": "https://shop.example.com/",
    }
    code, output = cartwright(env, "catalogue", "sync", *args)
    assert code == 0, output
    return output


def catalogued(stack: Stack) -> int:
    count: int = stack.dotdigital.admin("stats")["collections"].get("Catalog_Default", 0)
    return count


def record(stack: Stack, product_id: int) -> dict[str, Any]:
    response = stack.dotdigital.api.get(f"/insightData/v3/account/Catalog_Default/{product_id}")
    response.raise_for_status()
    found: dict[str, Any] = response.json()["json"]
    return found


def test_a_full_sync_lands_every_product_with_labels_and_names_each_gap(
    stack: Stack, logs: Path
) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    made = stack.commerce.act(lambda store: store.catalogue.grow(PRODUCTS, seed=5))
    total = len(catalogue.products)

    output = sync(stack, logs, "--full")

    assert f"products read {total:,}" in output
    eventually(lambda: catalogued(stack) == total or None, timeout=120, what="the catalogue")
    sample = next(p for p in made if "material" in p.attributes and p.multi.get("activity"))
    document = record(stack, sample.entity_id)
    attributes = catalogue.attributes
    assert document["sku"] == sample.sku
    assert document["attributes"]["brand"] == attributes["brand"].label_of(
        sample.attributes["brand"]
    )
    assert document["attributes"]["colour"] == attributes["color"].label_of(
        sample.attributes["color"]
    )
    assert document["url"] == f"https://shop.example.com/{sample.sku.lower()}.html"
    # A product without a material: one exception naming it, and its record landed anyway.
    bare = next(p for p in made if "material" not in p.attributes)
    assert "material" not in record(stack, bare.entity_id)["attributes"]

    def gap_of(sku: str) -> list[dict[str, Any]]:
        return [
            r["value"]
            for r in read_all(stack.bootstrap, EXCEPTIONS, quiet=1.0)
            if r["value"]["subject"] == f"SKU {sku}"
            and r["value"]["reason"] == "attribute_missing"
            and "`material`" in r["value"]["message"]
        ]

    [gap] = eventually(lambda: gap_of(bare.sku), timeout=30, what="the gap's exception")
    assert "missing from segments and recommendations on `material`" in gap["campaign_impact"]


def test_order_lines_carry_the_synced_attributes_through_an_email_change(stack: Stack) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    product = next(
        p
        for p in catalogue.products.values()
        if p.sku.startswith("GEN-") and "brand" in p.attributes
    )
    brand = catalogue.attributes["brand"].label_of(product.attributes["brand"])
    tag = uuid.uuid4().hex[:6]
    old, new = f"lines.{tag}@example.com", f"lines.moved.{tag}@example.com"

    def buy(store: Any) -> tuple[Any, str]:
        customer = store.register(old, "Lin", "Es")
        order = store.place_order(customer, [store.catalogue.line(product.sku, 1)])
        return customer, order.increment_id

    customer, number = stack.commerce.act(buy)

    def lines_of(email: str) -> list[dict[str, Any]] | None:
        found = stack.dotdigital.record(email, "Orders", number)
        if found is None or found["json"]["email"] != email:
            return None
        lines: list[dict[str, Any]] = found["json"]["products"]
        return lines

    [line] = eventually(lambda: lines_of(old), timeout=90, what="the order under its email")
    assert line["product_attributes"] == {"brand": brand}

    stack.commerce.act(lambda store: store.change_email(customer, new))

    # Written again under the new address (the join's hand-over), with the same attributes.
    [moved] = eventually(lambda: lines_of(new), timeout=90, what="the order under the new email")
    assert moved["product_attributes"] == {"brand": brand}


def test_a_second_sync_with_no_changes_sends_nothing(stack: Stack, logs: Path) -> None:
    output = sync(stack, logs)

    # Only the overlap the delta re-reads, already sent: de-duplicated, not sent again.
    assert "records sent to the batch lane 0" in output


def test_a_delta_after_fifty_product_changes_sends_exactly_those(stack: Stack, logs: Path) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    changed = [p.sku for p in catalogue.products.values() if p.sku.startswith("GEN-")][:50]

    def reprice(store: Any) -> None:
        for sku in changed:
            product = store.catalogue.products[sku]
            store.update_product(sku, price=product.price + 1)

    stack.commerce.act(reprice)
    output = sync(stack, logs)

    assert "records sent to the batch lane 50" in output
    first = catalogue.products[changed[0]]
    eventually(
        lambda: record(stack, first.entity_id)["price"] == float(first.price) or None,
        timeout=60,
        what="the repriced product in Dotdigital",
    )


def test_a_product_save_marks_its_sku_for_the_next_sync_though_its_updated_at_stayed(
    stack: Stack, logs: Path
) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    product = [
        p
        for p in catalogue.products.values()
        if p.sku.startswith("GEN-") and "brand" in p.attributes
    ][60]
    brand = catalogue.attributes["brand"]
    other = next(option for option, _ in brand.options if option != product.attributes["brand"])

    def quiet_save(store: Any) -> None:
        # A save Commerce did not date (`updated_at` as it was): the delta cannot see it.
        before = product.updated_at
        store.update_product(product.sku, attributes={"brand": other})
        product.updated_at = before

    stack.commerce.act(quiet_save)
    key = f"product:{product.sku}"
    read_topic(stack.bootstrap, RAW, lambda records: any(r["key"] == key for r in records))

    output = sync(stack, logs)

    marked = re.search(r"products their save events marked stale\D+(\d+)", output)
    assert marked is not None and int(marked[1]) >= 1, output
    eventually(
        lambda: (
            record(stack, product.entity_id)["attributes"]["brand"] == brand.label_of(other) or None
        ),
        timeout=60,
        what="the stale product's new brand in Dotdigital",
    )
    # The marks are cleared: the next sync re-reads nothing.
    again = sync(stack, logs)
    assert "products their save events marked stale 0" in again
    assert "records sent to the batch lane 0" in again


def test_a_full_sync_marks_deleted_products_and_disabled_ones_say_so(
    stack: Stack, logs: Path
) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    gone = next(p for p in catalogue.products.values() if p.sku.startswith("GEN-"))
    disabled = next(p for p in catalogue.products.values() if p.status == 2)
    stack.commerce.act(lambda store: store.catalogue.delete(gone.sku))

    output = sync(stack, logs, "--full")

    assert "records of products gone from Commerce, marked deleted 1" in output
    eventually(
        lambda: record(stack, gone.entity_id)["status"] == "Deleted" or None,
        timeout=60,
        what="the deleted product marked",
    )
    assert record(stack, gone.entity_id)["visibility"] == "Not Visible Individually"
    assert record(stack, disabled.entity_id)["status"] == "Disabled"


def test_the_leader_sends_what_commerce_changed_on_its_schedule(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    with running_stack(
        tmp_path,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_CATALOGUE__INTERVAL="1",
        CARTWRIGHT_CATALOGUE__MAPPING=str(mapping),
    ) as stack:
        stack.commerce.act(lambda store: store.catalogue.grow(40, seed=9))
        total = len(stack.commerce.act(lambda store: store.catalogue.products))
        eventually(lambda: catalogued(stack) == total or None, timeout=120, what="the catalogue")

        changed = stack.commerce.act(
            lambda store: store.update_product("24-MB01", name="Joust Duffle Bag, renewed")
        )
        assert changed

        eventually(
            lambda: record(stack, 1)["name"] == "Joust Duffle Bag, renewed" or None,
            timeout=60,
            what="the renamed product in Dotdigital",
        )
        assert catalogued(stack) == total
