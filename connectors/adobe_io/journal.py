"""The Adobe I/O Events journal client: one page of events after a stored position, errors translated."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.clock import Clock
from connectors.errors import FatalError, retry_after
from connectors.rest import RestSession, SessionClient

logger = logging.getLogger(__name__)

SOURCE = "Adobe I/O"


@dataclass(frozen=True)
class JournalPage:
    """The events of one journal page (each entry's `event`) and the position after it."""

    events: list[Any]
    last: str | None


@dataclass(frozen=True)
class Drained:
    """Nothing after the position yet (204): the journal's `Retry-After` when it gave one."""

    retry_after: float | None


class JournalClient(SessionClient):
    """Reads the journal at `url`; every failure surfaces as a `ConnectorError`, never httpx's.

    401 and 403 raise `FatalError` (the credentials or the URL need an operator), 429, 5xx and
    transport failures `RetriableError`, other 4xx `SkippableError`: the one status table decides.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        parsed = httpx.URL(url)
        self._path = parsed.raw_path.decode("ascii")
        self._shown = parsed.path
        self._wall_clock = wall_clock
        self._session = RestSession(
            f"{parsed.scheme}://{parsed.netloc.decode('ascii')}",
            auth,
            source=SOURCE,
            log=logger,
            transport=transport,
            timeout=timeout,
            clock=clock,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"JournalClient(base_url={self.base_url!r}, path={self._shown!r})"

    async def read(self, since: str | None, limit: int) -> JournalPage | Drained:
        """`GET <journal>?since=&limit=`: up to `limit` events after `since` (None: the start)."""
        params: dict[str, str | int] = {"limit": limit}
        if since:
            params["since"] = since
        reply = await self._session.exchange(
            "read_journal", "GET", self._path, shown=self._shown, params=params
        )
        if reply.status == 204:
            return Drained(retry_after(reply.headers, now=self._wall_clock()))
        page = reply.json_object("journal page")
        entries = page.get("events", [])
        if not isinstance(entries, list):
            raise FatalError(f"unexpected journal page from {SOURCE}: events is not a list")
        about = page.get("_page")
        last = about.get("last") if isinstance(about, dict) else None
        return JournalPage(
            events=[entry.get("event") if isinstance(entry, dict) else None for entry in entries],
            last=last if isinstance(last, str) else None,
        )
