"""A tiny webhook receiver: records every delivery and answers with scripted statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


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
