"""The Commerce sandbox server: Adobe's key host, the store's REST API, journal and admin, traffic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from aiohttp import web

from sandbox.commerce.adobe_io.journal import JOURNALS, journal_view
from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.api import admin, rest
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.api.state import STATE, CommerceSandbox
from sandbox.commerce.simulator.store import Store

__all__ = ["build_app", "run", "sandbox_of", "serve"]

log = logging.getLogger(__name__)

SIGNER_KEY = web.AppKey("signer", Signer)


async def _public_key(request: web.Request) -> web.Response:
    pem = request.app[SIGNER_KEY].public_pem(request.path)
    if pem is None:
        raise web.HTTPNotFound()
    return web.Response(body=pem, content_type="application/x-pem-file")


def build_app(
    config: CommerceSandboxConfig,
    signer: Signer | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
    background: bool = True,
) -> web.Application:
    """The key host (PEMs at the signer's paths), REST under `/rest/<store>/V1/`, the journals,
    and `/_sandbox/`; with `background`, delivery and (if configured) traffic run while served.
    Without it a test drives delivery itself (`sandbox_of(app).outbox.drain()`)."""
    app = web.Application(middlewares=[rest.rest_gate])
    app[SIGNER_KEY] = signer or Signer()
    sandbox = CommerceSandbox(
        config, app[SIGNER_KEY], store=store, clock=clock, sleep=sleep, transport=transport
    )
    app[STATE] = sandbox
    app[JOURNALS] = {config.journal_name: sandbox.journal, "storefront": sandbox.storefront}
    app[admin.TASKS] = set()
    for path in app[SIGNER_KEY].paths:
        app.router.add_get(path, _public_key)
    for method, path, handler in admin.ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_get("/_journal/{name}", journal_view)
    rest.add_routes(app)

    async def running(app: web.Application) -> AsyncIterator[None]:
        tasks = []
        if background and sandbox.deliverer is not None:
            tasks.append(asyncio.create_task(sandbox.outbox.run()))
        if background and config.traffic:
            tasks.append(asyncio.create_task(_traffic(sandbox, config.orders)))
        yield
        for task in [*tasks, *app[admin.TASKS]]:
            task.cancel()
        for task in [*tasks, *app[admin.TASKS]]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sandbox.outbox.aclose()
        if sandbox.deliverer is not None:
            await sandbox.deliverer.aclose()

    app.cleanup_ctx.append(running)
    return app


async def _traffic(sandbox: CommerceSandbox, orders: int) -> None:
    await sandbox.send_traffic(orders)
    log.info("store traffic sent", extra={"orders": orders})


def sandbox_of(app: web.Application) -> CommerceSandbox:
    """The live sandbox behind an app from `build_app` (for in-process tests)."""
    return app[STATE]


async def serve(
    config: CommerceSandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8026,
    signer: Signer | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    background: bool = True,
) -> web.AppRunner:
    """Start the server in the running loop (port 0 picks a free one: `runner.addresses`); the
    caller cleans the runner up."""
    app = build_app(config, signer, store=store, clock=clock, sleep=sleep, background=background)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def run(config: CommerceSandboxConfig, host: str = "127.0.0.1", port: int = 8026) -> None:
    """Serve until interrupted."""
    log.info("commerce sandbox on http://%s:%d", host, port)
    web.run_app(build_app(config), host=host, port=port, print=None)
