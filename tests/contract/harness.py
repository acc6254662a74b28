"""The real Dotdigital client against the real sandbox over HTTP, on one fake clock.

Every Dotdigital host (`r1-api…`, `r2-api…`) resolves to the in-process sandbox at the
transport, the way DNS would, so the client keeps its real base URLs and Host headers and the
sandbox's region check sees them. The client's monotonic clock, wall clock and sleep and the
sandbox's clock are one `FakeTime`: rate-limit holds and import polls advance it, nothing waits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.ratelimit import TierBudgets
from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.api.server import serve
from tests.faketime import FakeTime

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the start of a rate-limit minute
DISCOVERY_URL = "http://r1-api.dotdigital.com/"
# No client-side buckets: aiolimiter schedules on the event loop and would really wait.
NO_BUCKETS = TierBudgets(low=None, medium=None, high=None)
RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Scope",
)


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

    async def aclose(self) -> None:
        """Clients sharing the network do not close it when they close; `shutdown` does."""

    async def shutdown(self) -> None:
        await self._inner.aclose()


@dataclass
class Dotdigital:
    """A running sandbox, a client pointed at it, and the admin and time controls of a test."""

    config: SandboxConfig
    base_url: str  # where the sandbox really listens
    client: DotdigitalClient
    network: SandboxNetwork
    time: FakeTime
    admin_http: httpx.AsyncClient
    other_clients: list[DotdigitalClient] = field(default_factory=list)

    def new_client(
        self,
        *,
        base_url: str = DISCOVERY_URL,
        password: str | None = None,
        timeout: float = 121.0,
    ) -> DotdigitalClient:
        """Another client of the same account (or with another password), closed at the end."""
        client = make_client(self.config, self.network, self.time, base_url, password, timeout)
        self.other_clients.append(client)
        return client

    def advance(self, seconds: float) -> None:
        """Let time pass on both sides without anyone sleeping."""
        self.time.now += seconds
        self.time.wall += seconds

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with a body) or GET a `/_sandbox/` route; returns its JSON."""
        if body is None:
            response = await self.admin_http.get(f"/_sandbox/{path}")
        else:
            response = await self.admin_http.post(f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def faults(self, **settings: Any) -> None:
        await self.admin("faults", settings)

    async def limits(self, **settings: Any) -> None:
        await self.admin("limits", settings)

    async def set_status(self, email: str, status: str) -> None:
        """A Dotdigital-side event (bounce, complaint) the API cannot cause."""
        await self.admin(f"contacts/{email}/status", {"status": status})

    async def spend(self, path: str, times: int = 1) -> list[httpx.Response]:
        """Calls from another process of the same account, outside the client under test."""
        auth = (self.config.username, self.config.password)
        return [await self.admin_http.get(path, auth=auth) for _ in range(times)]


def make_client(
    config: SandboxConfig,
    network: SandboxNetwork,
    time: FakeTime,
    base_url: str = DISCOVERY_URL,
    password: str | None = None,
    timeout: float = 121.0,
) -> DotdigitalClient:
    return DotdigitalClient(
        base_url,
        config.username,
        SecretStr(config.password if password is None else password),
        transport=network,
        timeout=timeout,
        limits=NO_BUCKETS,
        clock=time.clock,
        sleep=time.sleep,
        wall_clock=time.wall_clock,
    )


@asynccontextmanager
async def sandbox(
    config: SandboxConfig | None = None, *, base_url: str = DISCOVERY_URL
) -> AsyncIterator[Dotdigital]:
    """A sandbox on a free local port and a client for its account, for the block's duration."""
    config = config or SandboxConfig()
    time = FakeTime(wall=START)
    runner = await serve(config, host="127.0.0.1", port=0, clock=time.wall_clock)
    port = runner.addresses[0][1]
    network = SandboxNetwork(port)
    dd: Dotdigital | None = None
    try:
        real_url = f"http://127.0.0.1:{port}"
        async with (
            make_client(config, network, time, base_url) as client,
            httpx.AsyncClient(base_url=real_url) as admin_http,
        ):
            dd = Dotdigital(config, real_url, client, network, time, admin_http)
            yield dd
    finally:
        if dd is not None:
            for other in dd.other_clients:
                await other.aclose()
        await network.shutdown()
        await runner.cleanup()
