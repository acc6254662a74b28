"""A record's values longer than Dotdigital takes are left out and named; the rest stays."""

from __future__ import annotations

from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.limits import Overlong, within_limits


def test_a_record_within_the_limits_goes_as_it_is() -> None:
    record = InsightRecord(key="1", json_={"name": "Bag", "attributes": {"colour": "Blue"}})

    assert within_limits(record, 10) == (record, [])


def test_values_past_the_limit_are_left_out_wherever_they_are_and_named() -> None:
    record = InsightRecord(
        key="1",
        json_={
            "name": "x" * 11,
            "sku": "24-MB01",
            "attributes": {"colour": "Blue", "material": "y" * 12},
            "categoryPaths": ["Gear", "z" * 20],
            "children": [{"sku": "MJ01-S", "options": {"Size": "s" * 15}}],
            "price": 12345678901,
        },
    )

    fitted, overlong = within_limits(record, 10)

    assert fitted.json_ == {
        "sku": "24-MB01",
        "attributes": {"colour": "Blue"},
        "categoryPaths": ["Gear"],
        "children": [{"sku": "MJ01-S", "options": {}}],
        "price": 12345678901,
    }
    assert overlong == [
        Overlong("name", 11),
        Overlong("attributes.material", 12),
        Overlong("categoryPaths[1]", 20),
        Overlong("children[0].options.Size", 15),
    ]
    assert record.json_["name"] == "x" * 11  # the original is untouched
