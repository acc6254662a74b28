"""The merchant's catalogue mapping: read from TOML, refused with every problem named."""

from __future__ import annotations

import textwrap

import pytest

from schemas.catalogue import mapping
from schemas.catalogue.mapping import CatalogueMapping, MappingRefused

# The example the module documents (its indented block), so the documentation stays true.
EXAMPLE = textwrap.dedent(
    "\n".join(line for line in (mapping.__doc__ or "").splitlines() if line.startswith("    "))
)


def test_the_documented_example_maps_codes_to_fields_and_order_lines() -> None:
    mapping = CatalogueMapping.from_toml(EXAMPLE)

    assert mapping.fields == {"brand": "brand", "color": "colour", "material": "material"}
    assert mapping.line_codes == ("brand", "color")


def test_codes_the_store_does_not_have_are_named_for_the_start_up_error() -> None:
    mapping = CatalogueMapping.from_toml(EXAMPLE)

    assert mapping.unknown(["color", "material", "size"]) == ["brand"]


def test_every_problem_of_a_mapping_is_named_at_once() -> None:
    text = """
[fields]
Brand = "brand"
color = "colour name"
material = "Colour"
fabric = "colour"

[orders]
lines = ["size"]
"""
    with pytest.raises(MappingRefused) as refused:
        CatalogueMapping.from_toml(text)

    problems = refused.value.problems
    assert "`Brand` is not a Commerce attribute code (a letter, then a-z, 0-9 or _)" in problems
    assert any("`colour name` (for `color`) is not a name Dotdigital takes" in p for p in problems)
    assert "`material` and `fabric` would both be written as `colour`" in problems
    assert "orders.lines names `size`, which [fields] does not map" in problems


@pytest.mark.parametrize(
    "text",
    ["[fields\nbrand =", "[fields]\nbrand = 3", "[colours]\nbrand = 'brand'"],
)
def test_what_is_not_a_mapping_is_refused_in_words(text: str) -> None:
    with pytest.raises(MappingRefused) as refused:
        CatalogueMapping.from_toml(text)

    assert refused.value.problems
