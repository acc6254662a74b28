"""Rate limits over HTTP: tier 429s with their headers, both Reset styles, the flat hourly cap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import RateLimited, TooManyImports
from sandbox.dotdigital.account.config import SandboxConfig
from schemas.dotdigital.bodies import ContactUpsert
from tests.support.dotdigital import RATE_HEADERS, START, Dotdigital, sandbox

SINCE = datetime.fromtimestamp(START, tz=UTC)
LOW_TIER_CALL = "/contacts/v3"  # the change feed is a Low-tier read


async def feed_once(dd: Dotdigital) -> list[object]:
    return [c async for c in dd.client.modified_contacts(SINCE)]


@pytest.mark.parametrize(
    ("reset_format", "reset_header"), [("seconds", "45"), ("epoch", str(int(START) + 60))]
)
async def test_a_spent_tier_is_rate_limited_with_retry_after_from_the_reset(
    dd: Dotdigital, reset_format: str, reset_header: str
) -> None:
    await dd.limits(tier_budgets={"low": 2}, reset_format=reset_format)
    dd.advance(15)
    await dd.spend(LOW_TIER_CALL, times=2)  # another worker of the account spent the minute

    with pytest.raises(RateLimited) as raised:
        await feed_once(dd)

    assert (raised.value.status, raised.value.code) == (429, "contacts:rateLimitExceeded")
    assert raised.value.retry_after == 45
    refused = dd.network.exchanges[-1]
    assert refused.status == 429
    assert {name: refused.headers[name] for name in RATE_HEADERS} == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset_header,
        "X-RateLimit-Scope": "low",
    }


async def test_after_a_429_the_tier_waits_out_the_reset_then_succeeds(dd: Dotdigital) -> None:
    await dd.limits(tier_budgets={"low": 1})
    dd.advance(20)
    await dd.spend(LOW_TIER_CALL)
    with pytest.raises(RateLimited):
        await feed_once(dd)

    assert await feed_once(dd) == []

    assert dd.time.sleeps == [40]
    assert [e.status for e in dd.network.to("GET", LOW_TIER_CALL)] == [429, 200]


async def test_a_warning_of_no_calls_left_is_heeded_before_any_429(dd: Dotdigital) -> None:
    await dd.limits(tier_budgets={"low": 1})
    dd.advance(50)
    await feed_once(dd)  # answered with X-RateLimit-Remaining: 0
    await feed_once(dd)
    assert dd.time.sleeps == [10]
    assert [e.status for e in dd.network.to("GET", LOW_TIER_CALL)] == [200, 200]


async def test_other_tiers_are_not_held_by_a_spent_one(dd: Dotdigital) -> None:
    await dd.limits(tier_budgets={"low": 0})
    with pytest.raises(RateLimited):
        await feed_once(dd)
    assert await dd.client.get_contact("ada@example.com") is None  # Medium tier
    assert dd.time.sleeps == []


async def test_the_flat_hourly_cap_answers_a_v2_usage_error_that_is_rate_limited(
    dd: Dotdigital,
) -> None:
    await dd.set_status("ada@example.com", "subscribed")  # contact 1, made outside the API
    await dd.limits(rate_mode="flat", flat_hourly_limit=1)
    await dd.spend("/v2/account-info")

    with pytest.raises(RateLimited) as raised:
        await dd.client.get_contact("ada@example.com")
    # Program enrolments do not count towards the flat limit: they still go through.
    enrolled = await dd.client.enrol(1, [1])

    assert (raised.value.status, raised.value.code) == (400, "ERROR_APIUSAGE_EXCEEDED")
    assert raised.value.retry_after == 3601
    capped = dd.network.to("GET", "/contacts/v3/email/")[0]
    assert capped.headers["X-RateLimit-Scope"] == "hourly"
    assert b"excess API activity" in capped.body
    assert [e["contacts"] for e in enrolled] == [[1]]


async def test_the_flat_cap_does_not_hold_back_enrolments(dd: Dotdigital) -> None:
    # Enrolments are exempt from the flat hourly limit, and the client knows it
    # (FLAT_LIMIT_EXEMPT); a flat-cap refusal on their tier must not make them wait the hour.
    await dd.set_status("ada@example.com", "subscribed")
    await dd.limits(rate_mode="flat", flat_hourly_limit=1)
    await dd.spend("/v2/account-info")
    with pytest.raises(RateLimited):
        await dd.client.get_contact("ada@example.com")

    await dd.client.enrol(1, [1])

    assert dd.time.sleeps == []


async def test_rate_limit_429_and_too_many_imports_429_are_told_apart() -> None:
    async with sandbox(SandboxConfig(max_active_contact_imports=1)) as dd:
        batch = [ContactUpsert(email="ada@example.com")]
        await dd.client.start_contact_import(batch)
        with pytest.raises(TooManyImports) as imports:
            await dd.client.start_contact_import(batch)
        await dd.faults(burst_429=1)
        with pytest.raises(RateLimited) as limited:
            await dd.client.start_contact_import(batch)
        await dd.admin("imports/finish", {})
        await dd.client.start_contact_import(batch)

    assert [e.status for e in dd.network.to("PUT", "/contacts/v3/import")] == [202, 429, 429, 202]
    assert not isinstance(imports.value, RateLimited)
    assert imports.value.code == "contacts:tooManyActiveImports"
    assert limited.value.code == "contacts:rateLimitExceeded"
    # Only the rate limit holds the tier: the last import waited for the minute to turn.
    assert dd.time.sleeps == [60]
