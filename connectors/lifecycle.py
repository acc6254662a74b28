"""What every API client shares: one HTTP session, closed by `async with` or `aclose()`."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

import httpx


def json_api_client(
    base_url: str,
    auth: httpx.Auth,
    *,
    transport: httpx.AsyncBaseTransport | None,
    timeout: float,
) -> httpx.AsyncClient:
    """The HTTP client under an API session: one base URL, one auth, JSON answers."""
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        transport=transport,
        timeout=httpx.Timeout(timeout),
        headers={"Accept": "application/json"},
    )


class Session(Protocol):
    @property
    def base_url(self) -> str: ...

    async def aclose(self) -> None: ...


class SessionClient:
    """Base of the API clients: `async with client:` closes its session on the way out."""

    _session: Session

    @property
    def base_url(self) -> str:
        return self._session.base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._session.aclose()
