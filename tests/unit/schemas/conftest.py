"""Fixtures: Commerce events from tests/fixtures/commerce, the guest order and its shipments."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.commerce.events import CloudEvent
from schemas.commerce.orders import CommerceOrder, CommerceShipment

FIXTURES = Path(__file__).parents[2] / "fixtures" / "commerce"


def load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.fixture
def commerce_event() -> Callable[[str], CloudEvent]:
    """Parse a fixture file into the CloudEvent envelope, e.g. `commerce_event("guest_order")`."""

    def load(name: str) -> CloudEvent:
        return CloudEvent.model_validate(load_json(f"{name}.json"))

    return load


@pytest.fixture
def guest_order(commerce_event: Callable[[str], CloudEvent]) -> CommerceOrder:
    return CommerceOrder.model_validate(commerce_event("guest_order").data.value)


@pytest.fixture
def shipment(commerce_event: Callable[[str], CloudEvent]) -> Callable[[str], CommerceShipment]:
    """A shipment of the guest order, e.g. `shipment("partial")`."""

    def load(name: str) -> CommerceShipment:
        return CommerceShipment.model_validate(
            commerce_event(f"guest_order_shipment_{name}").data.value
        )

    return load
