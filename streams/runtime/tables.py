"""Faust tables of bytes: the values are our own pydantic JSON, kept in memory (Tansu-safe)."""

from __future__ import annotations

from typing import Any


def bytes_table(app: Any, name: str, partitions: int) -> Any:
    """A table whose keys and values are stored as given, with a raw changelog."""
    table = app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes)
    # Faust derives "json" from plain types; raw keeps keys and values byte-identical on recovery.
    table.key_serializer = "raw"
    table.value_serializer = "raw"
    return table
