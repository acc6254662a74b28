"""What differs between two nested states (Dotdigital outcomes), down to the fields, for a
failure message."""

from __future__ import annotations

from typing import Any

SHOWN = 20  # differences in one message; more would bury the first
WIDTH = 600  # characters of one difference


def unlike(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    """What differs between two outcomes, down to the fields, for a failure message."""
    return "\n".join(differences(found, wanted, "")[:SHOWN])


def differences(found: Any, wanted: Any, path: str) -> list[str]:
    """`path/key: found != wanted` for every leaf that differs (a key on one side only too)."""
    if isinstance(found, dict) and isinstance(wanted, dict):
        return [
            line
            for key in sorted(set(found) | set(wanted), key=str)
            for line in differences(found.get(key), wanted.get(key), f"{path}/{key}")
        ]
    return [] if found == wanted else [f"{path}: {found!r} != {wanted!r}"[:WIDTH]]
