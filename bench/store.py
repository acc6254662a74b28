"""The store's side of the end-to-end trigger benchmark: Adobe's key host, the simulated store in
real time, its events delivered signed to the worker's webhook, and its storefront events sent to
the worker's collector as a shopper's browser beacons them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import Customer
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.storefront import STORE_URL

# The Dotdigital sandbox account every benchmark runs against.
USER = "apiuser-bench@apiconnector.com"
PASSWORD = "bench-password-1"  # noqa: S105 - the sandbox's made-up account
CLIENT_ID = "cartwright-bench"
SKU = "MJ01-S-Red"
BROWSER = {
    "Origin": STORE_URL,
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Content-Type": "text/plain;charset=UTF-8",
}
Event = dict[str, Any]


class KeyHost:
    """Adobe's public key host for the signer's two keys, on a thread of this process."""

    def __init__(self, signer: Signer) -> None:
        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pem = signer.public_pem(self.path)
                self.send_response(200 if pem else 404)
                self.end_headers()
                self.wfile.write(pem or b"")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Shop:
    """The simulated store at wall-clock time, and where its events go."""

    webhook: str
    collector: str
    signer: Signer
    store: Store

    @classmethod
    def open(cls, webhook: str, collector: str) -> Shop:
        clock = SimulatedClock(datetime.now(UTC))
        return cls(webhook, collector, Signer(), Store(seed=42, clock=clock, client_id=CLIENT_ID))

    def _now(self) -> None:
        self.store.clock.advance_to(datetime.now(UTC))

    def register(self, email: str) -> tuple[Customer, list[Event]]:
        """A registered customer (Commerce's contacts table will know the email)."""
        self._now()
        start = len(self.store.events)
        customer = self.store.register(email, "Bench", "Shopper")
        return customer, self.store.events[start:]

    def cart(self, email: str) -> tuple[Quote, list[Event]]:
        """A registered customer's cart with one line, saved now: it is abandoned (due) at its
        `updated_at`, as Commerce writes it (whole seconds), plus ABANDON_AFTER."""
        customer, events = self.register(email)
        start = len(self.store.events)
        quote = self.store.open_cart(customer)
        self.store.add_to_cart(quote, self.store.catalogue.line(SKU, 1), customer)
        return quote, events + self.store.events[start:]

    @staticmethod
    def updated(quote: Quote) -> datetime:
        return quote.updated_at.replace(microsecond=0)

    def views(self, customer: Customer, count: int) -> list[Event]:
        """`count` product-page views of SKU by the logged-in `customer`, now, a millisecond
        apart (the same page at the same millisecond is one event)."""
        self._now()
        views = []
        for _ in range(count):
            self.store.clock.advance(0.001)
            views.append(self.store.view_product(SKU, customer))
        return views

    async def deliver(self, http: httpx.AsyncClient, events: list[Event]) -> None:
        """One signed delivery of `events` (a JSON array), as Adobe I/O sends it; must be a 200."""
        body = orjson.dumps(events)
        headers = self.signer.headers(body, str(events[0]["eventid"]))
        response = await http.post(self.webhook, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")

    async def beacon(self, http: httpx.AsyncClient, events: list[Event]) -> None:
        """The events as one beacon from a shopper's browser on the store's pages (202)."""
        response = await http.post(self.collector, content=orjson.dumps(events), headers=BROWSER)
        if response.status_code != 202:
            raise RuntimeError(f"collector answered {response.status_code}: {response.text[:200]}")


def due(quote: Quote, abandon_after: float) -> datetime:
    """When the worker fires the cart: its `updated_at` (whole seconds) + ABANDON_AFTER."""
    return Shop.updated(quote) + timedelta(seconds=abandon_after)
