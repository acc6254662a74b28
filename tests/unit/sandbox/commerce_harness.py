"""A Commerce sandbox on a free port, a tiny webhook receiver, and the store scenarios tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from aiohttp import web

from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.api.server import sandbox_of, serve
from sandbox.commerce.api.state import CommerceSandbox
from sandbox.commerce.simulator.store import Store
from tests.faketime import FakeTime

CLIENT_ID = "cartwright-unit"
BEARER = {"Authorization": "Bearer cartwright-access-token"}
SIGNER = Signer()  # RSA key generation is slow; one pair serves every test


@dataclass
class Receipt:
    headers: dict[str, str]
    raw: bytes
    body: Any


@dataclass
class Receiver:
    """A webhook that records every POST and answers with scripted statuses (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.receipts.append(Receipt(dict(request.headers), raw, orjson.loads(raw)))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def events(self) -> list[dict[str, Any]]:
        """Every event received, batches flattened, in arrival order."""
        found: list[dict[str, Any]] = []
        for receipt in self.receipts:
            body = receipt.body
            found.extend(body if isinstance(body, list) else [body])
        return found


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/webhook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    try:
        yield hook
    finally:
        await runner.cleanup()


@dataclass
class Running:
    """A started sandbox: its base URL, a client with the integration's Bearer token, its state."""

    base_url: str
    api: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    sandbox: CommerceSandbox
    time: FakeTime

    @property
    def store(self) -> Store:
        return self.sandbox.store

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            response = await self.anonymous.get(f"/_sandbox/{path}")
        else:
            response = await self.anonymous.post(f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()


@asynccontextmanager
async def running_commerce(
    config: CommerceSandboxConfig | None = None, store: Store | None = None
) -> AsyncIterator[Running]:
    """Serve a sandbox on 127.0.0.1 with a free port; delivery is driven by the test (no
    background tasks), on fake time."""
    config = config or CommerceSandboxConfig(client_id=CLIENT_ID)
    time = FakeTime()
    runner = await serve(
        config, port=0, signer=SIGNER, store=store, clock=time.clock, sleep=time.sleep,
        background=False,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    app = runner.app
    try:
        async with (
            httpx.AsyncClient(base_url=base_url, headers=BEARER) as api,
            httpx.AsyncClient(base_url=base_url) as anonymous,
        ):
            yield Running(base_url, api, anonymous, sandbox_of(app), time)
    finally:
        await runner.cleanup()
