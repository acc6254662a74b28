"""Configurable products' variants from REST rows: option attribute ids, their codes and labels,
and each child's parent."""

from __future__ import annotations

from typing import Any

from schemas.catalogue.variants import option_attribute_ids, option_attributes, parents

KIT: dict[str, Any] = {
    "id": 1400,
    "sku": "MJ01",
    "type_id": "configurable",
    "extension_attributes": {
        "configurable_product_links": [1401, "1402", "x"],
        "configurable_product_options": [
            {"attribute_id": "93", "label": "Color"},
            {"attribute_id": 144, "label": "Size"},
            {"label": "no id"},
        ],
    },
}
BAG: dict[str, Any] = {"id": 1, "sku": "24-MB01", "type_id": "simple", "extension_attributes": {}}


def test_the_options_name_their_attributes_by_id() -> None:
    assert option_attribute_ids([KIT, BAG]) == {93, 144}


def test_attribute_rows_give_codes_and_labels_without_commerces_empty_option() -> None:
    found = option_attributes(
        [
            {
                "attribute_id": 93,
                "attribute_code": "color",
                "options": [{"label": " ", "value": ""}, {"label": "Blue", "value": "50"}],
            },
            {"attribute_id": "x", "attribute_code": "size", "options": []},
        ]
    )

    assert found.codes == {93: "color"}
    assert found.labels == {"color": {"50": "Blue"}}


def test_each_child_names_its_configurable_parent() -> None:
    assert parents([KIT, BAG]) == {1401: 1400, 1402: 1400}
