"""The Commerce sandbox of a test: served on a free port, the real client over HTTP, one fake time.

The client talks to `http://shop.example.com` and the transport delivers to the simulator's
local port (a fake DNS), so OAuth signs the shop's own URL (default port dropped) and the
simulator verifies what arrived under that Host. The client's clocks and sleep, and the
simulator's clock and sleep, are one `FakeTime`: retries advance it, nothing waits. The store's
own simulated clock moves only when a test moves it (`store.clock.advance`). Deliveries are
driven by the test (no background tasks). Tests of the simulator itself use `api` (the
integration's Bearer token) and `anonymous` (no auth).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth, OAuth1Auth
from connectors.commerce.client import CommerceClient
from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.api.auth import IntegrationCredentials
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.api.server import sandbox_of, serve
from sandbox.commerce.api.state import CommerceSandbox
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import BEARER, CLIENT_ID
from tests.support.admin import admin
from tests.support.faketime import FakeTime
from tests.support.network import SandboxNetwork

SHOP_URL = "http://shop.example.com"
START = 1_795_683_600.0  # 2026-11-26T09:00:00Z, the store clock's default start
SIGNER = Signer()  # RSA key generation is slow; one pair serves every test
# Module-wide, so no two OAuth clients ever send the same nonce (the store refuses replays).
_NONCES = itertools.count(1)


def shop() -> Store:
    """Five orders a minute apart (registered and guest, custom options, a configurable line, two
    coupons on one order, a virtual one), taken through invoice, shipment, refund and hold; a
    subscribed customer; an open cart."""
    store = Store(seed=11, client_id=CLIENT_ID)
    line = store.catalogue.line
    ada = store.register("ada@example.com", "Ada", "Lovelace", subscribe=True)
    alan = store.register("alan@example.com", "Alan", "Turing")
    grace = store.guest("grace@example.com", "Grace", "Hopper")
    barbara = store.guest("barbara@example.com", "Barbara", "Liskov")
    first = store.place_order(ada, [line("24-MB01", 2, {8: "22"})])
    store.clock.advance(60)
    store.place_order(
        grace, [line("24-MB04")], coupon="WELCOME10,FREESHIP", discount=Decimal("3.20")
    )
    store.clock.advance(60)
    store.place_order(alan, [line("24-WG02", 1, {7: "A.L.", 9: "31,32"})])
    store.clock.advance(60)
    store.place_order(ada, [line("VRT-YOGA-10")])
    store.clock.advance(60)
    fifth = store.place_order(barbara, [line("24-UG06", 3), line("MJ01-M-Red")])
    store.clock.advance(60)
    store.invoice(first)
    store.ship(first)
    store.refund(first, {"24-MB01": 1})
    store.hold(fifth)
    cart = store.open_cart(alan)
    store.add_to_cart(cart, line("24-WG085", 2), alan)
    store.clock.advance(60)
    return store


def bearer(credentials: IntegrationCredentials, token: str | None = None) -> BearerAuth:
    """The integration's access token as a Bearer token (or another token, to be refused)."""
    return BearerAuth(SecretStr(credentials.access_token if token is None else token))


def oauth(
    credentials: IntegrationCredentials,
    time: FakeTime,
    *,
    consumer_secret: str | None = None,
    token_secret: str | None = None,
) -> OAuth1Auth:
    """OAuth 1.0a HMAC-SHA256 with the integration's four credentials (a secret overridable)."""
    return OAuth1Auth(
        credentials.consumer_key,
        SecretStr(consumer_secret or credentials.consumer_secret),
        credentials.access_token,
        SecretStr(token_secret or credentials.access_token_secret),
        clock=time.wall_clock,
        nonce_source=lambda: f"contract-nonce-{next(_NONCES)}",
    )


@dataclass
class Commerce:
    """A running simulator, a Bearer client pointed at it, and a test's controls."""

    config: CommerceSandboxConfig
    base_url: str  # where the simulator really listens
    sandbox: CommerceSandbox
    client: CommerceClient
    network: SandboxNetwork
    time: FakeTime
    api: httpx.AsyncClient  # straight to the simulator, with the integration's Bearer token
    anonymous: httpx.AsyncClient  # straight to the simulator, no auth
    other_clients: list[CommerceClient] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.sandbox.store

    @property
    def credentials(self) -> IntegrationCredentials:
        return self.config.credentials

    def new_client(self, auth: httpx.Auth) -> CommerceClient:
        """Another client of the same shop with other credentials, closed at the end."""
        client = make_client(auth, self.network, self.time)
        self.other_clients.append(client)
        return client

    def store_client(self, store_code: str) -> CommerceClient:
        """A Bearer client of one store view's REST scope (`/rest/<store_code>/V1`)."""
        client = make_client(bearer(self.credentials), self.network, self.time, store_code)
        self.other_clients.append(client)
        return client

    def oauth_client(self, **secrets: str) -> CommerceClient:
        return self.new_client(oauth(self.credentials, self.time, **secrets))

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with a body) or GET a `/_sandbox/` route; returns its JSON."""
        return await admin(self.anonymous, path, body)

    async def faults(self, **settings: Any) -> None:
        await self.admin("faults", settings)

    async def raw_search(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """A search sent by hand with the Bearer token, for what the client never sends."""
        response = await self.anonymous.get(
            f"/rest/default{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.credentials.access_token}"},
        )
        response.raise_for_status()
        reply: dict[str, Any] = response.json()
        return reply

    def searches(self, path: str) -> list[dict[str, str]]:
        """The query parameters of every GET the client sent to one search endpoint, in order."""
        full = f"/rest/default{path}"
        return [e.params for e in self.network.exchanges if e.method == "GET" and e.path == full]


def make_client(
    auth: httpx.Auth, network: SandboxNetwork, time: FakeTime, store_code: str = "default"
) -> CommerceClient:
    return CommerceClient(
        SHOP_URL,
        auth=auth,
        store_code=store_code,
        transport=network,
        clock=time.clock,
        wall_clock=time.wall_clock,
        sleep=time.sleep,
        jitter=lambda: 0.5,
    )


@asynccontextmanager
async def commerce_sandbox(
    store: Store | None = None, config: CommerceSandboxConfig | None = None
) -> AsyncIterator[Commerce]:
    """The simulator (around `store`, else one from `config`'s seed and history) on a free
    local port, and a Bearer client for the shop, for the block's duration."""
    config = config or CommerceSandboxConfig(client_id=CLIENT_ID)
    time = FakeTime(wall=START)
    runner = await serve(
        config, port=0, signer=SIGNER, store=store, clock=time.clock, sleep=time.sleep,
        background=False,
    )  # fmt: skip
    port = runner.addresses[0][1]
    network = SandboxNetwork(port)
    real_url = f"http://127.0.0.1:{port}"
    commerce: Commerce | None = None
    try:
        async with (
            make_client(bearer(config.credentials), network, time) as client,
            httpx.AsyncClient(base_url=real_url, headers=BEARER) as api,
            httpx.AsyncClient(base_url=real_url) as anonymous,
        ):
            state = sandbox_of(runner.app)
            commerce = Commerce(config, real_url, state, client, network, time, api, anonymous)
            yield commerce
    finally:
        if commerce is not None:
            for other in commerce.other_clients:
                await other.aclose()
        await network.shutdown()
        await runner.cleanup()
