"""Configurable products' variants as Commerce REST describes them: the attributes their options
name (by id, resolved to codes and labels), and the parent of each child product."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIGURABLE = "configurable"


@dataclass(frozen=True)
class OptionAttributes:
    """The attributes configurable options name: attribute id → code, code → option id → label."""

    codes: Mapping[int, str] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def option_attribute_ids(rows: Iterable[Mapping[str, Any]]) -> set[int]:
    """The attribute ids the configurable products' options (`configurable_product_options`)
    name, e.g. color's and size's."""
    found: set[int] = set()
    for row in rows:
        extension = row.get("extension_attributes") or {}
        for option in extension.get("configurable_product_options") or []:
            attribute = str(option.get("attribute_id", "")) if isinstance(option, Mapping) else ""
            if attribute.isdigit():
                found.add(int(attribute))
    return found


def option_attributes(items: Iterable[Mapping[str, Any]]) -> OptionAttributes:
    """`GET /V1/products/attributes` rows as codes and labels; Commerce's empty first option
    and rows without an id or code are left out."""
    codes: dict[int, str] = {}
    labels: dict[str, dict[str, str]] = {}
    for item in items:
        ident, code = str(item.get("attribute_id", "")), item.get("attribute_code")
        if not ident.isdigit() or not isinstance(code, str) or not code:
            continue
        codes[int(ident)] = code
        labels[code] = {
            str(option["value"]): str(option["label"]).strip()
            for option in item.get("options") or []
            if isinstance(option, Mapping)
            and str(option.get("value", "")).strip()
            and str(option.get("label", "")).strip()
        }
    return OptionAttributes(codes, labels)


def parents(rows: Iterable[Mapping[str, Any]]) -> dict[int, int]:
    """Child product id → its configurable parent's id, from the parents' rows
    (`extension_attributes.configurable_product_links`)."""
    found: dict[int, int] = {}
    for row in rows:
        if row.get("type_id") != CONFIGURABLE or not str(row.get("id", "")).isdigit():
            continue
        for link in (row.get("extension_attributes") or {}).get("configurable_product_links") or []:
            if str(link).isdigit():
                found[int(link)] = int(row["id"])
    return found


def is_configurable(row: Mapping[str, Any]) -> bool:
    return row.get("type_id") == CONFIGURABLE
