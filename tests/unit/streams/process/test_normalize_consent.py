"""Commerce newsletter events as consent observations, from the store simulator's own events."""

from __future__ import annotations

import orjson
import pytest

from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.consent import ConsentChanged, ConsentSource, ConsentStatus
from schemas.contract.incidents import Reason
from streams.process.normalize import Normalizer, Unprocessable


def normalized(event: dict[str, object]) -> list[object]:
    envelope = CloudEvent.model_validate_json(orjson.dumps(event))
    return list(Normalizer({}).apply(raw_key(envelope).encode(), envelope))


def test_guest_and_customer_subscriptions_become_consent_observations() -> None:
    store = Store(seed=3)
    store.subscribe(" Guest@Example.com ", 1)
    customer = store.register("ada@example.com", "Ada", "Lovelace", subscribe=True)
    store.set_subscription(customer, False)
    changes = [c for e in store.events for c in normalized(e) if isinstance(c, ConsentChanged)]

    assert [(c.email, c.status, c.customer_id) for c in changes] == [
        ("guest@example.com", ConsentStatus.SUBSCRIBED, None),
        ("ada@example.com", ConsentStatus.SUBSCRIBED, customer.id),
        ("ada@example.com", ConsentStatus.UNSUBSCRIBED, customer.id),
    ]
    assert all(c.source is ConsentSource.COMMERCE for c in changes)
    assert changes[-1].event_id == store.events[-1]["eventid"]


def test_an_unknown_subscriber_status_is_dead_lettered_with_its_reason() -> None:
    store = Store(seed=3)
    (event,) = store.subscribe("ada@example.com", 1)
    event["data"]["value"]["subscriber_status"] = 9

    with pytest.raises(Unprocessable) as caught:
        normalized(event)

    assert caught.value.reason is Reason.INVALID_PAYLOAD
    assert "subscriber_status 9" in caught.value.detail
