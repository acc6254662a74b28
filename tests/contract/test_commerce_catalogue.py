"""The Commerce sandbox's catalogue through REST, as the catalogue sync reads it: a generated
store of any size, labels behind option ids, categories, stock on the detail only and in bulk
from the inventory's source items, a configurable's children with their options' labels,
store views and websites with store-level values in a store view's scope, deletions."""

from __future__ import annotations

from typing import Any

from connectors.commerce.search import SearchCriteria
from schemas.catalogue.resolve import Lookups, resolve, shelves
from schemas.catalogue.stock import stock_levels
from schemas.catalogue.variants import option_attribute_ids, option_attributes, parents
from schemas.catalogue.views import plan_views
from tests.support.commerce import Commerce


def _custom(row: dict[str, Any]) -> dict[str, Any]:
    return {item["attribute_code"]: item["value"] for item in row["custom_attributes"]}


async def test_a_generated_catalogue_pages_through_rest_the_same_for_the_same_seed(
    commerce: Commerce,
) -> None:
    made = commerce.store.catalogue.grow(450, seed=7)
    twin = type(commerce.store.catalogue)(commerce.store.clock.now()).grow(450, seed=7)

    skus: list[str] = []
    async for row in commerce.client.iter_search("/V1/products", SearchCriteria(), page_size=200):
        skus.append(str(row["sku"]))

    generated = [sku for sku in skus if sku.startswith("GEN-")]
    assert len(generated) == 450 and len(set(skus)) == len(skus)
    assert {p.sku for p in made} == set(generated)
    # The same seed makes the same products.
    assert [(p.sku, p.price, p.attributes, p.multi) for p in twin] == [
        (p.sku, p.price, p.attributes, p.multi) for p in made
    ]
    assert any(p.status == 2 for p in made) and any(p.special_price for p in made)
    assert any("material" not in p.attributes for p in made)
    assert any(len(p.multi.get("activity", ())) > 1 for p in made)


async def test_stock_is_on_a_products_detail_never_on_a_search_page(commerce: Commerce) -> None:
    page = await commerce.client.products(SearchCriteria().where("sku", "eq", "24-MB01").page(5))
    detail = await commerce.client.product("24-MB01")

    assert "stock_item" not in page.items[0]["extension_attributes"]
    assert detail is not None
    stock = detail["extension_attributes"]["stock_item"]
    assert stock["is_in_stock"] is True and stock["qty"] > 0


async def test_a_generated_product_resolves_with_labels_categories_and_special_price(
    commerce: Commerce,
) -> None:
    catalogue = commerce.store.catalogue
    product = next(
        p
        for p in catalogue.grow(200, seed=3)
        if p.special_price is not None and len(p.multi.get("activity", ())) > 1
    )
    detail = await commerce.client.product(product.sku)
    tree = await commerce.client.categories()
    assert detail is not None

    labels = {
        code: dict((str(i), label) for i, label in a.options)
        for code, a in catalogue.attributes.items()
    }
    resolved = resolve(detail, [], Lookups(labels=labels, categories=shelves(tree)))

    assert resolved.categories[0].path == product.categories[0]
    assert resolved.attributes["brand"] == catalogue.attributes["brand"].label_of(
        product.attributes["brand"]
    )
    assert resolved.attributes["activity"].count(", ") == len(product.multi["activity"]) - 1
    assert resolved.special_price == product.special_price
    assert product.special_from is not None
    assert resolved.special_from == product.special_from.date()
    assert _custom(detail)["special_price"].endswith("0000")


async def test_a_deleted_product_is_gone_from_rest(commerce: Commerce) -> None:
    commerce.store.catalogue.delete("24-WG085")

    assert await commerce.client.product("24-WG085") is None


async def test_source_items_give_a_search_pages_stock_in_one_call(commerce: Commerce) -> None:
    catalogue = commerce.store.catalogue
    made = catalogue.grow(120, seed=4)
    page = await commerce.client.products(SearchCriteria().where("sku", "like", "GEN-%").page(100))
    skus = [str(row["sku"]) for row in page.items]

    items = await commerce.client.source_items([*skus, "MJ01"])

    # One row per SKU of the page and source; a configurable product holds no stock itself.
    assert sorted(item["sku"] for item in items) == sorted(skus)
    assert {item["source_code"] for item in items} == {"default"}
    levels = stock_levels(items)
    by_sku = {p.sku: p for p in made}
    assert all(levels[sku].qty == by_sku[sku].qty for sku in skus)
    assert all(levels[sku].in_stock == (by_sku[sku].qty > 0) for sku in skus)
    assert any(not level.in_stock for level in levels.values())


async def test_a_configurables_children_resolve_with_option_labels_and_their_parent(
    commerce: Commerce,
) -> None:
    parent = await commerce.client.product("MJ01")
    children = await commerce.client.configurable_children("MJ01")
    assert parent is not None
    ids = option_attribute_ids([parent])
    found = option_attributes(await commerce.client.product_attributes(sorted(ids)))
    lookups = Lookups(labels=found.labels, attribute_codes=found.codes, parents=parents([parent]))

    kit = resolve(parent, children, lookups)
    child = resolve(children[0], [], lookups)

    assert found.codes == {93: "color", 144: "size"}
    assert [(c.sku, c.options) for c in kit.children] == [
        ("MJ01-S-Red", {"Color": "Red", "Size": "S"}),
        ("MJ01-M-Red", {"Color": "Red", "Size": "M"}),
        ("MJ01-S-Black", {"Color": "Black", "Size": "S"}),
        ("MJ01-M-Black", {"Color": "Black", "Size": "M"}),
    ]
    assert child.parent_id == kit.id
    assert await commerce.client.configurable_children("24-MB01") == []
    assert await commerce.client.configurable_children("NO-SUCH-SKU") == []


async def test_store_views_and_websites_plan_a_collection_each_read_in_their_scope(
    commerce: Commerce,
) -> None:
    made = commerce.store.catalogue.grow(12, seed=2)
    eu = next(p for p in made if 2 in p.websites)
    views = plan_views(["*"], await commerce.client.store_views(), await commerce.client.websites())

    assert [(v.collection, v.store_code, v.website_id) for v in views] == [
        ("Catalog_base_default", "default", 1),
        ("Catalog_eu_eu_en", "eu_en", 2),
    ]
    scoped = commerce.store_client("eu_en")
    page = await scoped.products(SearchCriteria().where("sku", "eq", eu.sku).page(5))
    default = await commerce.client.products(SearchCriteria().where("sku", "eq", eu.sku).page(5))

    [row], [plain] = page.items, default.items
    assert row["name"] == eu.store_values["eu_en"]["name"] != plain["name"]
    assert row["price"] == float(eu.store_values["eu_en"]["price"])
    assert views[1].holds(row) and views[0].holds(row)
    only_base = next(p for p in made if p.websites == (1,))
    found = await scoped.products(SearchCriteria().where("sku", "eq", only_base.sku).page(5))
    # Commerce lists every product in a store view's scope: its websites say where it belongs.
    assert not views[1].holds(found.items[0])
