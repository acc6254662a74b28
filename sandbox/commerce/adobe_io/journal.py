"""The I/O Events journal: the pull alternative to the webhook, read by opaque ordered positions."""

from __future__ import annotations

import itertools
import re
from collections import deque
from typing import Any

import orjson
from aiohttp import web

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
RETRY_AFTER_SECONDS = 10
_POSITION = re.compile(r"^v1\.([0-9a-f]{16})$")


class InvalidPosition(ValueError):
    """A `since` that this journal never handed out."""


def position_of(index: int) -> str:
    """Opaque to readers, but ordered: they sort as strings in journal order."""
    return f"v1.{index:016x}"


def index_of(position: str) -> int:
    match = _POSITION.match(position)
    if match is None:
        raise InvalidPosition(position)
    return int(match.group(1), 16)


class Journal:
    """Every event ever published to one registration, in publication order."""

    def __init__(self, retention: int = 200_000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=retention)
        self._total = 0

    def __len__(self) -> int:
        return self._total

    def append(self, event: dict[str, Any]) -> str:
        self._events.append(event)
        self._total += 1
        return position_of(self._total)

    def read(self, since: str | None, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` events after `since` (from the oldest still kept without it, or when
        `since` has expired)."""
        after = index_of(since) if since else 0
        if after > self._total:
            raise InvalidPosition(since or "")
        dropped = self._total - len(self._events)
        start = max(after, dropped)
        chosen = itertools.islice(self._events, start - dropped, start - dropped + limit)
        return [(position_of(start + n), event) for n, event in enumerate(chosen, start=1)]


JOURNALS: web.AppKey[dict[str, Journal]] = web.AppKey("journals", dict)


async def journal_view(request: web.Request) -> web.StreamResponse:
    """`GET /_journal/{name}?since=&limit=`: a page of events, or 204 with retry-after."""
    journal = request.app[JOURNALS].get(request.match_info["name"])
    if journal is None:
        raise web.HTTPNotFound()
    try:
        limit = min(int(request.query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        page = journal.read(request.query.get("since") or None, max(limit, 1))
    except (ValueError, InvalidPosition):
        error = orjson.dumps({"error": "invalid since or limit"})
        return web.Response(status=400, body=error, content_type="application/json")
    if not page:
        return web.Response(status=204, headers={"retry-after": str(RETRY_AFTER_SECONDS)})
    body = {
        "events": [{"position": position, "event": event} for position, event in page],
        "_page": {"last": page[-1][0], "count": len(page)},
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")
