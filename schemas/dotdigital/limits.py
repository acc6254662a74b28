"""What Dotdigital's insight data takes in a record's JSON: string values up to a length
(Dotdigital publishes none; past it an import rejects the whole record, `JsonValueTooLong`), so
a value past it is left out of the record and named, and the rest of the record still goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.dotdigital.bodies import InsightRecord

# The longest string value sent: Dotdigital's limit is not published; its sandbox takes 1000.
MAX_VALUE_LENGTH = 1000


@dataclass(frozen=True)
class Overlong:
    """A value left out: where it was in the record (`attributes.colour`, `children[0].sku`) and
    how long it was."""

    path: str
    length: int


def within_limits(record: InsightRecord, max_length: int) -> tuple[InsightRecord, list[Overlong]]:
    """The record without its string values longer than `max_length`, and those it left out."""
    dropped: list[Overlong] = []
    fitted = _fit(record.json_, "", max_length, dropped)
    if not dropped:
        return record, []
    return record.model_copy(update={"json_": fitted}), dropped


def _fit(value: Any, path: str, limit: int, dropped: list[Overlong]) -> Any:
    if isinstance(value, dict):
        kept = {}
        for key, child in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(child, str) and len(child) > limit:
                dropped.append(Overlong(where, len(child)))
                continue
            kept[key] = _fit(child, where, limit, dropped)
        return kept
    if isinstance(value, list):
        items = []
        for index, child in enumerate(value):
            if isinstance(child, str) and len(child) > limit:
                dropped.append(Overlong(f"{path}[{index}]", len(child)))
                continue
            items.append(_fit(child, f"{path}[{index}]", limit, dropped))
        return items
    return value
