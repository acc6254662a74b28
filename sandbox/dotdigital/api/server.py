"""Build, start and run the Dotdigital sandbox as an aiohttp application."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import web

from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.api import admin, contacts, insight, v2
from sandbox.dotdigital.api.middleware import gate
from sandbox.dotdigital.api.wire import STATE, TIERS

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


def build_app(config: SandboxConfig, clock: Callable[[], float] = time.time) -> web.Application:
    """An application serving the Dotdigital surface and `/_sandbox/`; nothing starts yet."""
    app = web.Application(middlewares=[gate], client_max_size=50 * 1024 * 1024)
    app[STATE] = Sandbox(config, clock)
    tiers: dict[tuple[str, str], Tier] = {}
    for endpoint in (*contacts.ENDPOINTS, *insight.ENDPOINTS, *v2.ENDPOINTS):
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
        tiers[(endpoint.method, endpoint.path)] = endpoint.tier
    for method, path, handler in admin.ROUTES:
        app.router.add_route(method, path, handler)
    app[TIERS] = tiers
    return app


def sandbox_state(app: web.Application) -> Sandbox:
    """The live state behind an app from `build_app` (for in-process tests and benchmarks)."""
    return app[STATE]


async def serve(
    config: SandboxConfig,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    clock: Callable[[], float] = time.time,
) -> web.AppRunner:
    """Start serving and return the runner; `runner.addresses` has the bound port (port 0 picks
    a free one); stop with `await runner.cleanup()`."""
    runner = web.AppRunner(build_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    log.info("dotdigital sandbox at http://%s:%d (admin under /_sandbox/)", bound_host, bound_port)
    return runner


def run(config: SandboxConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (the `cartwright sandbox dotdigital` command)."""
    log.info("dotdigital sandbox at http://%s:%d (admin under /_sandbox/)", host, port)
    web.run_app(build_app(config), host=host, port=port, print=None, access_log=None)
