"""`cartwright catalogue sync` on the real stack: a generated store's products reach Dotdigital's
`Catalog_Default` through the worker's batch lane with their mapped attributes as labels and
their stock, a configurable product with its children and their options' labels, a
product without a mapped attribute is one exception naming its SKU while its record still
lands, a value too long for Dotdigital is left out and named, a second sync with no changes sends
nothing, a product save marks its SKU for the next sync, Orders lines carry the mapped attributes
the sync published, also once the buyer's email changed, and with store views each view's
collection holds its website's products, read in its scope, and a product moved off a website
leaves that view's collection."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.contract.topics import EXCEPTIONS, RAW
from tests.support.catalogue_run import FIELDS
from tests.support.cli import cartwright
from tests.support.stack import Stack, eventually, read_all, read_topic, running_stack

pytestmark = pytest.mark.integration

PRODUCTS = 300
MAPPING = f"""{FIELDS}
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


def sync(stack: Stack, logs: Path, *args: str, **settings: str) -> str:
    mapping = logs / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    env = {
        **stack.env,
        "CARTWRIGHT_CATALOGUE__MAPPING": str(mapping),
        "CARTWRIGHT_CATALOGUE__CHECKPOINT": str(logs / "catalogue.json"),
        "CARTWRIGHT_CATALOGUE__STORE_URL": "https://shop.example.com/",
        **settings,
    }
    code, output = cartwright(env, "catalogue", "sync", *args)
    assert code == 0, output
    return output


def catalogued(stack: Stack, collection: str = "Catalog_Default") -> int:
    count: int = stack.dotdigital.admin("stats")["collections"].get(collection, 0)
    return count


def exceptions(stack: Stack, sku: str, reason: str) -> list[dict[str, Any]]:
    return [
        r["value"]
        for r in read_all(stack.bootstrap, EXCEPTIONS, quiet=1.0)
        if r["value"]["subject"] == f"SKU {sku}" and r["value"]["reason"] == reason
    ]


def record(stack: Stack, product_id: int, collection: str = "Catalog_Default") -> dict[str, Any]:
    response = stack.dotdigital.api.get(f"/insightData/v3/account/{collection}/{product_id}")
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
    # Stock for products read from search pages (which carry none): from the inventory.
    assert document["stock"] == ("In Stock" if sample.qty > 0 else "Out of Stock")
    assert document["stockQty"] == float(sample.qty)
    sold_out = next(p for p in made if p.qty == 0)
    assert record(stack, sold_out.entity_id)["stock"] == "Out of Stock"
    # A product without a material: one exception naming it, and its record landed anyway.
    bare = next(p for p in made if "material" not in p.attributes)
    assert "material" not in record(stack, bare.entity_id)["attributes"]

    def gap_of(sku: str) -> list[dict[str, Any]]:
        return [
            e for e in exceptions(stack, sku, "attribute_missing") if "`material`" in e["message"]
        ]

    [gap] = eventually(lambda: gap_of(bare.sku), timeout=30, what="the gap's exception")
    assert "missing from segments and recommendations on `material`" in gap["campaign_impact"]


def test_a_configurables_children_arrive_with_their_options_and_name_their_parent(
    stack: Stack,
) -> None:
    kit = record(stack, 1400)

    assert kit["type"] == "configurable"
    assert [(c["sku"], c["options"], c["stock"]) for c in kit["children"]] == [
        ("MJ01-S-Red", {"Color": "Red", "Size": "S"}, "In Stock"),
        ("MJ01-M-Red", {"Color": "Red", "Size": "M"}, "In Stock"),
        ("MJ01-S-Black", {"Color": "Black", "Size": "S"}, "In Stock"),
        ("MJ01-M-Black", {"Color": "Black", "Size": "M"}, "In Stock"),
    ]
    child = record(stack, 1402)
    assert child["parent_id"] == 1400 and child["sku"] == "MJ01-M-Red"
    assert child["visibility"] == "Not Visible Individually"


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


def test_a_value_too_long_is_one_exception_naming_sku_and_field_and_the_record_lands(
    stack: Stack, logs: Path
) -> None:
    product = stack.commerce.act(lambda store: store.catalogue.products["24-MB04"])
    price = product.price + 3
    stack.commerce.act(
        lambda store: store.update_product("24-MB04", name="Strive " * 200, price=price)
    )

    output = sync(stack, logs)

    assert "records sent to the batch lane 1" in output
    assert "values too long for Dotdigital, left out (exceptions) 1" in output
    eventually(
        lambda: record(stack, product.entity_id)["price"] == float(price) or None,
        timeout=60,
        what="the product's record without its name",
    )
    assert "name" not in record(stack, product.entity_id)
    [found] = eventually(
        lambda: exceptions(stack, "24-MB04", "value_too_long"), timeout=30, what="the exception"
    )
    assert "`name` of SKU 24-MB04 is 1,400 characters" in found["message"]
    assert "without `name`" in found["campaign_impact"]


def test_a_record_the_import_rejects_is_an_exception_naming_its_sku(
    stack: Stack, logs: Path
) -> None:
    # Past what Dotdigital takes (its sandbox: 1000 characters), sent as it is: the import
    # rejects this record alone.
    stack.commerce.act(lambda store: store.update_product("24-WG02", name="Didi " * 300))

    output = sync(stack, logs, CARTWRIGHT_CATALOGUE__MAX_VALUE_LENGTH="5000")

    assert "records sent to the batch lane 1" in output
    [found] = eventually(
        lambda: exceptions(stack, "24-WG02", "dotdigital_rejected"),
        timeout=60,
        what="the rejection",
    )
    assert "JsonValueTooLong" in found["message"]
    assert record(stack, 36)["name"] == "Didi Sport Watch"


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


EU = "Catalog_eu_eu_en"


def test_each_store_view_gets_its_websites_products_and_one_moved_out_leaves(
    stack: Stack, logs: Path
) -> None:
    catalogue = stack.commerce.act(lambda store: store.catalogue)
    on_eu = [p for p in catalogue.products.values() if 2 in p.websites]

    output = sync(stack, logs, CARTWRIGHT_CATALOGUE__STORE_VIEWS="*")

    assert f"products read {len(catalogue.products) + len(on_eu):,}" in output
    eventually(lambda: catalogued(stack, EU) == len(on_eu) or None, timeout=120, what="the EU")
    eventually(
        lambda: catalogued(stack, "Catalog_base_default") == len(catalogue.products) or None,
        timeout=120,
        what="the main website's catalogue",
    )
    moving = on_eu[0]
    # The EU store view's own name and price, read through its REST scope.
    eu_record = record(stack, moving.entity_id, EU)
    assert eu_record["name"] == moving.store_values["eu_en"]["name"]
    assert eu_record["price"] == float(moving.store_values["eu_en"]["price"])
    assert record(stack, moving.entity_id, "Catalog_base_default")["name"] == moving.name

    stack.commerce.act(lambda store: store.update_product(moving.sku, websites=(1,)))
    output = sync(stack, logs, CARTWRIGHT_CATALOGUE__STORE_VIEWS="*")

    assert "records of products moved off a store view's website, marked deleted 1" in output
    eventually(
        lambda: record(stack, moving.entity_id, EU)["status"] == "Deleted" or None,
        timeout=60,
        what="the product gone from the EU store view",
    )
    assert record(stack, moving.entity_id, EU)["visibility"] == "Not Visible Individually"
    assert record(stack, moving.entity_id, "Catalog_base_default")["status"] == "Enabled"


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
