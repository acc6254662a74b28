"""The Dotdigital sandbox of a test: served on a free port, the real client over HTTP, one fake time.

Every Dotdigital host (`r1-api…`, `r2-api…`) resolves to the in-process sandbox at the
transport, the way DNS would, so the client keeps its real base URLs and Host headers and the
sandbox's region check sees them. The client's monotonic clock, wall clock and sleep and the
sandbox's clock are one `FakeTime`: rate-limit holds and import polls advance it, nothing waits.
Tests of the sandbox itself use `api` (its account's Basic auth) and `anonymous` (no auth).
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
from tests.support.admin import admin
from tests.support.faketime import FakeTime
from tests.support.network import SandboxNetwork

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


@dataclass
class Dotdigital:
    """A running sandbox, a client pointed at it, and the admin and time controls of a test."""

    config: SandboxConfig
    base_url: str  # where the sandbox really listens
    client: DotdigitalClient
    network: SandboxNetwork
    time: FakeTime
    api: httpx.AsyncClient  # straight to the sandbox, with the account's Basic auth
    anonymous: httpx.AsyncClient  # straight to the sandbox, no auth
    other_clients: list[DotdigitalClient] = field(default_factory=list)

    def new_client(
        self,
        *,
        base_url: str = DISCOVERY_URL,
        password: str | None = None,
        timeout: float = 121.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> DotdigitalClient:
        """Another client of the same account (or with another password, or over another
        transport), closed at the end."""
        client = make_client(
            self.config, transport or self.network, self.time, base_url, password, timeout
        )
        self.other_clients.append(client)
        return client

    def advance(self, seconds: float) -> None:
        """Let time pass on both sides without anyone sleeping."""
        self.time.advance(seconds)

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with a body) or GET a `/_sandbox/` route; returns its JSON."""
        return await admin(self.anonymous, path, body)

    async def faults(self, **settings: Any) -> None:
        await self.admin("faults", settings)

    async def limits(self, **settings: Any) -> None:
        await self.admin("limits", settings)

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.admin("stats")
        return stats

    async def set_status(self, email: str, status: str) -> None:
        """A Dotdigital-side event (bounce, complaint) the API cannot cause."""
        await self.admin(f"contacts/{email}/status", {"status": status})

    async def spend(self, path: str, times: int = 1) -> list[httpx.Response]:
        """Calls from another process of the same account, outside the client under test."""
        return [await self.api.get(path) for _ in range(times)]

    async def poll_import(self, path: str, max_polls: int = 10) -> list[dict[str, Any]]:
        """Poll an import status until it leaves NotFinished; every answer, in order."""
        answers: list[dict[str, Any]] = []
        for _ in range(max_polls):
            response = await self.api.get(path)
            assert response.status_code == 200, response.text
            answers.append(response.json())
            if answers[-1]["status"] != "NotFinished":
                return answers
        raise AssertionError(f"{path} still NotFinished after {max_polls} polls")


def make_client(
    config: SandboxConfig,
    transport: httpx.AsyncBaseTransport,
    time: FakeTime,
    base_url: str = DISCOVERY_URL,
    password: str | None = None,
    timeout: float = 121.0,
) -> DotdigitalClient:
    return DotdigitalClient(
        base_url,
        config.username,
        SecretStr(config.password if password is None else password),
        transport=transport,
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
            httpx.AsyncClient(base_url=real_url, auth=(config.username, config.password)) as api,
            httpx.AsyncClient(base_url=real_url) as anonymous,
        ):
            dd = Dotdigital(config, real_url, client, network, time, api, anonymous)
            yield dd
    finally:
        if dd is not None:
            for other in dd.other_clients:
                await other.aclose()
        await network.shutdown()
        await runner.cleanup()
