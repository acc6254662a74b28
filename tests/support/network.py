"""The transport seam of the tests: real HTTP to an in-process sandbox whatever the host asked for."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Exchange:
    """One request as it reached the sandbox, and its answer."""

    method: str
    host: str
    path: str
    params: dict[str, str]
    status: int
    headers: httpx.Headers
    body: bytes


class SandboxNetwork(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox's port whatever the host (a fake DNS), noting every exchange."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.headers["Host"]  # set from the URL the client asked for; kept as is
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        self.exchanges.append(
            Exchange(
                request.method,
                host,
                request.url.path,
                dict(request.url.params),
                response.status_code,
                response.headers,
                body,
            )
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            extensions=response.extensions,
        )

    def to(self, method: str, path_prefix: str) -> list[Exchange]:
        """The exchanges of one method whose path starts with `path_prefix`, in order."""
        return [e for e in self.exchanges if e.method == method and e.path.startswith(path_prefix)]

    def calls(self) -> list[tuple[str, str, int]]:
        """Each exchange's method, path and status, in the order they were answered."""
        return [(e.method, e.path, e.status) for e in self.exchanges]

    def writes(self) -> list[tuple[str, str]]:
        """The PATCH and PUT calls, in the order they were answered."""
        return [(e.method, e.path) for e in self.exchanges if e.method in {"PATCH", "PUT"}]

    def plug(self) -> Plug:
        """A line of its own into this network for one client, to see whether it closed it."""
        return Plug(self)

    async def aclose(self) -> None:
        """Clients sharing the network do not close it when they close; `shutdown` does."""

    async def shutdown(self) -> None:
        await self._inner.aclose()


class Plug(httpx.AsyncBaseTransport):
    """One client's line into a `SandboxNetwork`, noted closed when that client closes."""

    def __init__(self, network: SandboxNetwork) -> None:
        self._network = network
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True
