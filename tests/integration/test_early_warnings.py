"""Early warnings on the real stack, with low thresholds: dead letters past their hourly limit,
hard bounces read from Dotdigital's suppression feed, and the sink waiting on a Dotdigital that
answers 503 each raise one `early_warning` exception record and turn their gauge on; warnings
nothing provoked (consumer lag, the feed's age) stay quiet."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.contract.topics import EXCEPTIONS
from tests.support.orders import email_of, new_order, order_event
from tests.support.stack import Stack, accepted, eventually, read_all, read_topic, running_stack

pytestmark = pytest.mark.integration

DEAD_LETTERS_LIMIT = 2
BOUNCES_FLOOR = 1
SINK_WAITING_AFTER = 3


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("early-warnings")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        # The leader reads the suppression feeds every few seconds, within a budget that allows it.
        CARTWRIGHT_CONSENT__POLL_INTERVAL="6",
        CARTWRIGHT_DOTDIGITAL__FEED_RESERVE_PER_MINUTE="20",
        CARTWRIGHT_WARNINGS__INTERVAL="1",
        CARTWRIGHT_WARNINGS__DEAD_LETTERS_PER_HOUR=str(DEAD_LETTERS_LIMIT),
        CARTWRIGHT_WARNINGS__HARD_BOUNCES_FLOOR=str(BOUNCES_FLOOR),
        CARTWRIGHT_WARNINGS__SUPPRESSIONS_FLOOR=str(BOUNCES_FLOOR),
        CARTWRIGHT_WARNINGS__SINK_WAITING_AFTER=str(SINK_WAITING_AFTER),
    ) as running:
        yield running


def gauges(stack: Stack) -> dict[tuple[str, str], float]:
    """`cartwright_warning_*{name}` from the worker's `/metrics`: (family, name) → value."""
    text = httpx.get(f"{stack.worker_url}/metrics", timeout=5).text
    found = re.findall(r'^(cartwright_warning_\w+)\{name="(\w+)"\} (\S+)$', text, re.MULTILINE)
    return {(family, name): float(value) for family, name, value in found}


def rounds(stack: Stack) -> float:
    text = httpx.get(f"{stack.worker_url}/metrics", timeout=5).text
    found = re.search(
        r'^cartwright_events_total\{outcome="evaluated",stage="warnings"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


def active(stack: Stack, name: str) -> bool:
    return gauges(stack).get(("cartwright_warning_active", name)) == 1.0


def warnings_published(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        r["value"]
        for r in records
        if r["value"].get("reason") == "early_warning"
        and r["value"].get("subject") == f"warning {name}"
    ]


def announced(stack: Stack, name: str) -> dict[str, Any]:
    """The exception record announcing warning `name`, once it is on the topic."""
    records = read_topic(
        stack.bootstrap, EXCEPTIONS, lambda seen: bool(warnings_published(seen, name)), 90
    )
    return warnings_published(records, name)[0]


def test_dead_letters_past_their_hourly_limit_warn_once(stack: Stack) -> None:
    assert not active(stack, "dead_letters_per_hour")
    for _ in range(DEAD_LETTERS_LIMIT + 1):
        bad = new_order(email=f"not-an-address-{uuid.uuid4().hex[:6]}")
        accepted(stack.deliver(order_event(bad)))

    record = announced(stack, "dead_letters_per_hour")

    assert record["severity"] == "error"
    assert "invalid_email" in record["message"]
    assert "replay" in record["message"]
    eventually(lambda: active(stack, "dead_letters_per_hour"), what="the gauge", timeout=30)
    value = gauges(stack)[("cartwright_warning_value", "dead_letters_per_hour")]
    assert value == DEAD_LETTERS_LIMIT + 1
    # Still holding a few rounds later, and announced no more.
    later = rounds(stack) + 3
    eventually(lambda: rounds(stack) >= later, what="three more evaluations", timeout=30)
    assert active(stack, "dead_letters_per_hour")
    assert (
        len(warnings_published(read_all(stack.bootstrap, EXCEPTIONS), "dead_letters_per_hour")) == 1
    )


def test_hard_bounces_read_from_the_suppression_feed_warn(stack: Stack) -> None:
    emails: list[str] = []
    for _ in range(BOUNCES_FLOOR + 1):
        order = new_order()
        accepted(stack.deliver(order_event(order)))
        emails.append(email_of(order))
    for email in emails:
        eventually(partial(stack.dotdigital.contact, email), what=f"contact {email}", timeout=90)
        stack.dotdigital.admin(f"contacts/{email}/status", {"status": "hardBounced"})

    bounces = announced(stack, "hard_bounces_per_hour")
    suppressions = announced(stack, "suppressions_per_hour")

    assert bounces["severity"] == suppressions["severity"] == "warning"
    assert "hard-bounced" in bounces["message"]
    eventually(lambda: active(stack, "hard_bounces_per_hour"), what="the gauge", timeout=30)
    assert gauges(stack)[("cartwright_warning_value", "hard_bounces_per_hour")] >= len(emails)


def test_the_sink_waiting_on_dotdigital_warns_and_clears(stack: Stack) -> None:
    assert not active(stack, "sink_waiting")
    stack.dotdigital.admin("faults", {"error_rate": 1.0, "error_status": 503})
    try:
        order = new_order()
        accepted(stack.deliver(order_event(order)))

        record = announced(stack, "sink_waiting")

        assert record["severity"] == "error"
        assert "Dotdigital" in record["message"]
        eventually(lambda: active(stack, "sink_waiting"), what="the gauge", timeout=30)
    finally:
        stack.dotdigital.admin("faults", {})
    eventually(lambda: stack.dotdigital.contact(email_of(order)), what="the write", timeout=120)
    eventually(lambda: not active(stack, "sink_waiting"), what="the warning to clear", timeout=60)


def test_warnings_nothing_provoked_stay_quiet(stack: Stack) -> None:
    records = read_all(stack.bootstrap, EXCEPTIONS)
    found = gauges(stack)

    for name in ("consumer_lag", "poller_checkpoint_age", "partition_stalled", "gate_refusals"):
        assert warnings_published(records, name) == []
        assert found[("cartwright_warning_active", name)] == 0.0
    # The worker leads its group of one, so it reads the feed and measures its age.
    assert found[("cartwright_warning_value", "poller_checkpoint_age")] < 1800
