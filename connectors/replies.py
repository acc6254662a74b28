"""Reading a successful reply's body: JSON, or nothing; a broken body is worth another try."""

from __future__ import annotations

from typing import Any

import orjson

from connectors.errors import RetriableError


def decode_json(content: bytes, where: str) -> Any:
    """The decoded body, None when it is empty; `RetriableError` when it is not JSON."""
    if not content.strip():
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        # A success status with a broken body is a truncated or proxied reply: worth retrying.
        raise RetriableError(
            f"{where}: success status but the body is not JSON ({len(content)} bytes)"
        ) from None
