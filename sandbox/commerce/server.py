"""The Commerce sandbox server: Adobe's public key host, and a store that sends traffic to a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from sandbox.commerce.delivery import Deliverer
from sandbox.commerce.signing import Signer
from sandbox.commerce.traffic import StoreTraffic

log = logging.getLogger(__name__)

SIGNER_KEY = web.AppKey("signer", Signer)
DELIVERER_KEY = web.AppKey("deliverer", Deliverer)


@dataclass(frozen=True)
class CommerceSandboxConfig:
    """What the store sends, where, and how fast."""

    client_id: str
    webhook_url: str | None = None
    seed: int = 7
    orders: int = 50
    orders_per_minute: float = 30.0
    ship_after_seconds: float = 20.0
    retry_time_scale: float = 1.0 / 60.0


async def _public_key(request: web.Request) -> web.Response:
    pem = request.app[SIGNER_KEY].public_pem(request.path)
    if pem is None:
        raise web.HTTPNotFound()
    return web.Response(body=pem, content_type="application/x-pem-file")


async def _status(request: web.Request) -> web.Response:
    deliverer = request.app.get(DELIVERER_KEY)
    stats = deliverer.stats if deliverer else None
    return web.json_response(
        {
            "delivered": stats.delivered if stats else 0,
            "retried": stats.retried if stats else 0,
            "dropped": stats.dropped if stats else 0,
            "statuses": {str(k): v for k, v in (stats.statuses if stats else {}).items()},
        }
    )


async def _send_traffic(config: CommerceSandboxConfig, deliverer: Deliverer) -> None:
    traffic = StoreTraffic(
        client_id=config.client_id,
        seed=config.seed,
        orders_per_minute=config.orders_per_minute,
        ship_after_seconds=config.ship_after_seconds,
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    in_flight: set[asyncio.Task[bool]] = set()
    for delivery in traffic.deliveries(config.orders):
        wait = started + delivery.at - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        # Adobe delivers concurrently; a retried event must not hold up the rest.
        task = loop.create_task(deliverer.deliver(delivery.event))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    log.info("store traffic sent", extra={"orders": config.orders})


def build_app(config: CommerceSandboxConfig, signer: Signer | None = None) -> web.Application:
    """The key host (PEMs at the signer's paths) plus `/_sandbox/status`; traffic if a webhook is set."""
    app = web.Application()
    app[SIGNER_KEY] = signer or Signer()
    for path in app[SIGNER_KEY].paths:
        app.router.add_get(path, _public_key)
    app.router.add_get("/_sandbox/status", _status)
    if config.webhook_url:
        deliverer = Deliverer(
            config.webhook_url, app[SIGNER_KEY], time_scale=config.retry_time_scale
        )
        app[DELIVERER_KEY] = deliverer

        async def traffic_context(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(_send_traffic(config, deliverer))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await deliverer.aclose()

        app.cleanup_ctx.append(traffic_context)
    return app


async def serve(
    config: CommerceSandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8026,
    signer: Signer | None = None,
) -> web.AppRunner:
    """Start the server in the running loop; the caller cleans the runner up."""
    runner = web.AppRunner(build_app(config, signer))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def run(config: CommerceSandboxConfig, host: str = "127.0.0.1", port: int = 8026) -> None:
    """Serve until interrupted."""
    log.info("commerce sandbox on http://%s:%d", host, port)
    web.run_app(build_app(config), host=host, port=port, print=None)
