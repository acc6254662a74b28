"""The collector's admission and validation: hostile bodies refused with a reason, limits held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from sandbox.commerce.simulator.store import Store
from schemas.normalize.storefront import clamp, raw_key, received
from streams.sources.intake import Refusal
from streams.sources.storefront.admission import ClientLimiter, allowed_origin, is_bot
from streams.sources.storefront.collector import parse_events

SHOP = "https://luma.example.com"


def sdk_event() -> dict[str, Any]:
    store = Store(seed=3)
    guest = store.guest("g@example.com", "G", "H")
    cart = store.open_cart(guest)
    return store.view_product("MJ01-S-Red", guest, cart)


def refusal(body: bytes, max_events: int = 20) -> tuple[int, str]:
    with pytest.raises(Refusal) as caught:
        parse_events(body, max_events)
    return caught.value.status, caught.value.reason


def test_the_sandbox_events_and_a_batch_of_them_are_read() -> None:
    event = sdk_event()

    (one,) = parse_events(orjson.dumps(event), 20)
    batch = parse_events(orjson.dumps([event, event]), 20)

    assert one.event_info.product_context is not None
    assert one.event_info.product_context.top_level_sku == "MJ01"
    assert one.cart_id is not None and len(batch) == 2


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"not json", 400, "not JSON"),
        (b"[]", 400, "empty batch"),
        (b"[" * 40 + b"]" * 40, 400, "nests deeper"),
        (b"42", 422, "not an object"),
        (
            orjson.dumps({"event": 5, "eventInfo": {}, "timestamp": "2026-11-20T10:00:00Z"}),
            422,
            "event",
        ),
        (
            orjson.dumps({"event": "x", "eventInfo": [], "timestamp": "2026-11-20T10:00:00Z"}),
            422,
            "eventInfo",
        ),
        (orjson.dumps({"event": "x", "eventInfo": {}, "timestamp": "yesterday"}), 422, "timestamp"),
        (
            orjson.dumps(
                {"event": "x" * 100, "eventInfo": {}, "timestamp": "2026-11-20T10:00:00Z"}
            ),
            422,
            "string_too_long",
        ),
    ],
)
def test_hostile_bodies_are_refused_with_a_short_reason(
    body: bytes, status: int, reason: str
) -> None:
    got_status, got_reason = refusal(body)

    assert got_status == status
    assert reason in got_reason and len(got_reason) < 120


def test_wrong_types_deep_in_a_context_are_refused() -> None:
    event = sdk_event()
    event["eventInfo"]["productContext"]["sku"] = {"$ne": None}

    status, reason = refusal(orjson.dumps(event))

    assert status == 422 and "productContext.sku" in reason


def test_too_many_events_in_one_body_are_refused() -> None:
    assert refusal(orjson.dumps([sdk_event()] * 3), max_events=2)[0] == 413


def test_a_resent_beacon_keeps_its_id_and_a_far_future_stamp_is_clamped() -> None:
    (event,) = parse_events(orjson.dumps(sdk_event()), 20)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    assert received(event, now).event_id == received(event, now + timedelta(hours=1)).event_id
    future = datetime(2099, 1, 1, tzinfo=UTC)
    assert clamp(future, now, timedelta(minutes=5)) == now + timedelta(minutes=5)
    assert raw_key(event, "10.0.0.1") == f"cart:{event.cart_id}"


def test_only_listed_origins_are_allowed() -> None:
    origins = frozenset({SHOP})

    assert allowed_origin({"Origin": SHOP + "/"}, origins) == SHOP + "/"
    assert allowed_origin({"Origin": "https://evil.example"}, origins) is None
    assert allowed_origin({}, origins) is None


@pytest.mark.parametrize(
    ("agent", "bot"),
    [
        ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15", False),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
        ("Mozilla/5.0 HeadlessChrome/120.0", True),
        ("", True),
        (None, True),
    ],
)
def test_bots_are_recognised(agent: str | None, bot: bool) -> None:
    assert is_bot(agent) is bot


def test_a_client_gets_its_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = ClientLimiter(rate=2.0, burst=3, max_clients=10, clock=lambda: now[0])

    first = [limiter.admit("a") for _ in range(5)]
    now[0] = 1.0
    later = [limiter.admit("a") for _ in range(3)]

    assert first == [True, True, True, False, False]
    assert later == [True, True, False]
    assert limiter.admit("b")


def test_only_so_many_clients_are_remembered() -> None:
    limiter = ClientLimiter(rate=1.0, burst=1, max_clients=100, clock=lambda: 0.0)

    for n in range(1_000):
        limiter.admit(f"10.0.{n // 256}.{n % 256}")

    assert len(limiter) == 100
