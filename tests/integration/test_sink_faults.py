"""Under 5xx answers, 429 bursts, dropped connections and timeouts, every write lands once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import Stack, eventually, read_all
from tests.integration.test_spine import accepted, email_of, new_order, order_event

pytestmark = pytest.mark.integration

ORDERS = 40


@pytest.fixture
def faulty(stack: Stack) -> Iterator[Stack]:
    stack.dotdigital.admin(
        "faults",
        {
            "error_rate": 0.2,
            "error_status": 503,
            "error_body": "html",
            "burst_429": 3,
            "drop_connection_rate": 0.03,
            "delay_seconds": 4.0,
            "delay_rate": 0.05,
            "seed": 11,
        },
    )
    try:
        yield stack
    finally:
        stack.dotdigital.admin("faults", {})


def test_every_write_lands_exactly_once_under_injected_faults(faulty: Stack) -> None:
    before = faulty.dotdigital.admin("stats")["faults_injected"]
    orders = [new_order() for _ in range(ORDERS)]
    for order in orders:
        accepted(faulty.deliver(order_event(order)))

    def landed() -> list[str] | None:
        found = [
            record["key"]
            for order in orders
            for record in faulty.dotdigital.records(email_of(order), "Orders")
        ]
        return found if len(found) >= ORDERS else None

    keys = eventually(landed, timeout=240, what=f"{ORDERS} orders under faults")

    assert sorted(keys) == sorted(order.increment_id for order in orders)
    assert all(faulty.dotdigital.contact(email_of(order)) for order in orders)
    assert faulty.dotdigital.admin("stats")["faults_injected"] - before >= 10
    subjects = {f"order {order.increment_id}" for order in orders}
    exceptions = read_all(faulty.bootstrap, "cartwright.exceptions.v1")
    assert not [e for e in exceptions if e["value"]["subject"] in subjects]
