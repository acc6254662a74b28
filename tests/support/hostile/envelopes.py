"""Good envelopes as the sandbox store sends them, fresh per case, and their bytes, signed or not.

Each case gets its own entity ids and email, so no two cases fold into one order or contact,
and its own event id, which is the marker the accounting looks for.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    PRODUCT_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
    envelope,
)
from sandbox.commerce.simulator.store import Store

ENTITY_BASE = 700_000  # far above the sandbox store's own ids
UNUSED_TYPE = "com.adobe.commerce.observer.hostile_suite_unused"
_RAW = re.compile(rb'"\\u0000raw:((?:[^"\\]|\\.)*?)\\u0000"')


def raw(token: str) -> str:
    """A JSON token written as is (`NaN`, `1e5000`, a 30-digit integer), in place of a value."""
    return f"\x00raw:{token}\x00"


def encode(value: Any) -> bytes:
    """The JSON bytes of `value`, with `raw(...)` placeholders replaced by their tokens."""
    return _RAW.sub(_token, orjson.dumps(value))


def _token(match: re.Match[bytes]) -> bytes:
    """The placeholder's text, unescaped (a token may hold quotes: `{"a":{"a":0}}`)."""
    text: str = orjson.loads(b'"' + match.group(1) + b'"')
    return text.encode()


def _templates(client_id: str, at: datetime) -> dict[str, dict[str, Any]]:
    """One event of each type the normalizer reads, as the sandbox store emits them."""
    store = Store(seed=11, clock=SimulatedClock(at), client_id=client_id, keep_events=True)
    customer = store.register("template@example.com", "Ada", "Lovelace", subscribe=True)
    order = store.place_order(customer, [store.catalogue.line("24-MB01", 2)])
    placed = copy.deepcopy(store.events[-1])
    store.invoice(order)
    store.ship(order)
    store.refund(order)
    found: dict[str, dict[str, Any]] = {ORDER_SAVED: placed}
    for event in store.events:
        if event["type"] != ORDER_SAVED:
            found[event["type"]] = event
    return found


class Envelopes:
    """Fresh good envelopes of every type, numbered so that no two cases share an entity."""

    def __init__(self, client_id: str, at: datetime | None = None) -> None:
        self.client_id = client_id
        self.at = at or datetime.now(UTC)
        self._templates = _templates(client_id, self.at)
        self._number = 0

    def _next(self) -> int:
        self._number += 1
        return self._number

    def _wrap(self, event_type: str, value: dict[str, Any]) -> dict[str, Any]:
        event_id = str(uuid.uuid4())
        return envelope(event_type, value, client_id=self.client_id, at=self.at, event_id=event_id)

    def value_of(self, event_type: str) -> dict[str, Any]:
        value: dict[str, Any] = copy.deepcopy(self._templates[event_type]["data"]["value"])
        return value

    def order(self, email: str | None = None) -> dict[str, Any]:
        n = self._next()
        value = self.value_of(ORDER_SAVED)
        value.update(
            entity_id=str(ENTITY_BASE + n),
            increment_id=f"9{n:08d}",
            customer_email=email or f"hostile.{n}@example.com",
            customer_id=None,
            customer_is_guest="1",
        )
        return self._wrap(ORDER_SAVED, value)

    def shipment(self) -> dict[str, Any]:
        n = self._next()
        value = self.value_of(SHIPMENT_SAVED)
        value.update(entity_id=str(ENTITY_BASE + n), order_id=str(ENTITY_BASE + n))
        return self._wrap(SHIPMENT_SAVED, value)

    def creditmemo(self) -> dict[str, Any]:
        n = self._next()
        value = self.value_of(CREDITMEMO_SAVED)
        value.update(entity_id=str(ENTITY_BASE + n), order_id=str(ENTITY_BASE + n))
        return self._wrap(CREDITMEMO_SAVED, value)

    def customer(self, email: str | None = None) -> dict[str, Any]:
        n = self._next()
        value = self.value_of(CUSTOMER_SAVED)
        ident = str(ENTITY_BASE + n)
        value.update(id=ident, entity_id=ident, email=email or f"hostile.{n}@example.com")
        return self._wrap(CUSTOMER_SAVED, value)

    def subscriber(self, email: str | None = None) -> dict[str, Any]:
        n = self._next()
        value = self.value_of(SUBSCRIBER_SAVED)
        value.update(
            subscriber_id=str(ENTITY_BASE + n),
            customer_id="0",
            subscriber_email=email or f"hostile.{n}@example.com",
        )
        return self._wrap(SUBSCRIBER_SAVED, value)

    def product(self, sku: str) -> dict[str, Any]:
        return self._wrap(PRODUCT_SAVED, {"entity_id": str(ENTITY_BASE + self._next()), "sku": sku})

    def unused(self) -> dict[str, Any]:
        """An event of a type Cartwright does not read: stored, then left alone."""
        return self._wrap(UNUSED_TYPE, {"entity_id": str(ENTITY_BASE + self._next())})

    def of(self, event_type: str) -> dict[str, Any]:
        return {
            ORDER_SAVED: self.order,
            SHIPMENT_SAVED: self.shipment,
            CREDITMEMO_SAVED: self.creditmemo,
            CUSTOMER_SAVED: self.customer,
            SUBSCRIBER_SAVED: self.subscriber,
        }[event_type]()


def event_id(event: Any) -> str:
    """The id a good envelope carries (the marker the accounting looks for)."""
    return str(event.get("eventid") or event.get("event_id") or event["id"])


class Signatures:
    """Adobe's signature headers of a body: published keys, unpublished ones, or none."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.forger = Signer()  # the same key paths, keys nobody published

    def signed(self, body: bytes, marker: str = "") -> dict[str, str]:
        return self.signer.headers(body, marker)

    def forged(self, body: bytes, marker: str = "") -> dict[str, str]:
        return self.forger.headers(body, marker)

    @staticmethod
    def unsigned() -> dict[str, str]:
        return {"content-type": "application/cloudevents+json; charset=utf-8"}
