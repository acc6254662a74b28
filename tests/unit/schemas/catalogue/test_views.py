"""Store views planned into collections: `Catalog_<website>_<store>`, each with its own
checkpoint and website; a store view the store does not have refuses the sync."""

from __future__ import annotations

import pytest

from schemas.catalogue.views import StoreView, StoreViewsRefused, plan_views

WEBSITES = [
    {"id": 0, "code": "admin", "name": "Admin"},
    {"id": 1, "code": "base", "name": "Main Website"},
    {"id": 2, "code": "eu", "name": "EU Website"},
]
VIEWS = [
    {"id": 0, "code": "admin", "website_id": 0, "is_active": 1},
    {"id": 1, "code": "default", "website_id": 1, "is_active": 1},
    {"id": 2, "code": "eu_en", "website_id": 2, "is_active": 1},
    {"id": 3, "code": "eu_fr", "website_id": 2, "is_active": 0},
]


def test_each_store_view_is_its_websites_collection_with_a_checkpoint_of_its_own() -> None:
    assert plan_views(["eu_en", "default"], VIEWS, WEBSITES) == [
        StoreView("Catalog_eu_eu_en", "catalogue:eu_en", "eu_en", 2),
        StoreView("Catalog_base_default", "catalogue:default", "default", 1),
    ]


def test_every_active_store_view_but_the_admins() -> None:
    planned = plan_views(["*"], VIEWS, WEBSITES)

    assert [view.store_code for view in planned] == ["default", "eu_en"]


def test_a_store_view_the_store_does_not_have_refuses_the_sync() -> None:
    with pytest.raises(StoreViewsRefused) as refused:
        plan_views(["default", "us_en", "admin"], VIEWS, WEBSITES)

    assert refused.value.problems == [
        "the store has no store view `us_en` (it has default, eu_en, eu_fr)",
        "the store has no store view `admin` (it has default, eu_en, eu_fr)",
    ]


def test_a_view_holds_the_products_of_its_website_only() -> None:
    view = StoreView("Catalog_eu_eu_en", "catalogue:eu_en", "eu_en", 2)

    assert view.holds({"extension_attributes": {"website_ids": [1, 2]}})
    assert view.holds({"extension_attributes": {"website_ids": ["2"]}})
    assert not view.holds({"extension_attributes": {"website_ids": [1]}})
    assert not view.holds({"id": 5})
    assert StoreView("Catalog_Default").holds({"id": 5})
