"""v2 consent: global unsubscribe, resubscribe outcomes and the paged suppression feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import SkippableError
from schemas.dotdigital.bodies import ContactUpsert
from tests.support.dotdigital import START, Dotdigital

SINCE = datetime.fromtimestamp(START, tz=UTC)
ADA = "ada@example.com"


async def test_unsubscribe_shows_in_the_feed_and_on_the_contact(dd: Dotdigital) -> None:
    await dd.client.upsert_contact(ContactUpsert(email=ADA))
    dd.advance(10)

    answer = await dd.client.unsubscribe(ADA)
    feed = [row async for row in dd.client.unsubscribed_since(SINCE)]

    assert answer["reason"] == "Unsubscribed"
    assert answer["suppressedContact"]["email"] == ADA
    assert [(r["suppressedContact"]["email"], r["reason"]) for r in feed] == [(ADA, "Unsubscribed")]
    assert feed[0]["dateRemoved"] == "2026-01-01T00:00:10.000Z"
    contact = await dd.client.get_contact(ADA)
    assert contact is not None
    assert contact.status == "unsubscribed"
    [page] = dd.network.to("GET", "/v2/contacts/unsubscribed-since/")
    assert page.path == "/v2/contacts/unsubscribed-since/2026-01-01T00:00:00Z"
    assert page.params == {"select": "1000", "skip": "0"}


async def test_suppressed_feed_pages_with_select_and_skip(dd: Dotdigital) -> None:
    expected = []
    for n, status in enumerate(["hardBounced", "ispComplained", "suppressed", "hardBounced"]):
        dd.advance(1)
        await dd.set_status(f"s{n}@example.com", status)
        expected.append(f"s{n}@example.com")
    dd.advance(1)
    await dd.client.unsubscribe("u@example.com")
    expected.append("u@example.com")

    feed = [row async for row in dd.client.suppressed_since(SINCE, select=2)]

    assert [r["suppressedContact"]["email"] for r in feed] == expected
    assert [r["reason"] for r in feed] == [
        "HardBounced",
        "IspComplained",
        "Suppressed",
        "HardBounced",
        "Unsubscribed",
    ]
    pages = dd.network.to("GET", "/v2/contacts/suppressed-since/")
    assert [(p.params["select"], p.params["skip"]) for p in pages] == [
        ("2", "0"),
        ("2", "2"),
        ("2", "4"),
    ]


async def test_a_full_last_page_costs_one_more_empty_page(dd: Dotdigital) -> None:
    for n in range(2):
        await dd.client.unsubscribe(f"u{n}@example.com")
    feed = [row async for row in dd.client.unsubscribed_since(SINCE, select=2)]
    assert len(feed) == 2
    pages = dd.network.to("GET", "/v2/contacts/unsubscribed-since/")
    assert [p.params["skip"] for p in pages] == ["0", "2"]


async def test_resubscribe_with_no_challenge_adds_an_unsubscribed_contact_back(
    dd: Dotdigital,
) -> None:
    await dd.client.unsubscribe(ADA)
    outcome = await dd.client.resubscribe(ADA, {"FIRSTNAME": "Ada"}, challenge=False)
    contact = await dd.client.get_contact(ADA)
    feed = [row async for row in dd.client.unsubscribed_since(SINCE)]
    assert outcome == "ContactAdded"
    assert contact is not None
    assert (contact.status, contact.data_fields) == ("subscribed", {"FIRSTNAME": "Ada"})
    assert feed == []
    assert dd.network.to("POST", "/v2/contacts/resubscribe-with-no-challenge")


async def test_resubscribe_is_challenged_leaving_the_contact_unsubscribed(dd: Dotdigital) -> None:
    await dd.client.unsubscribe(ADA)
    outcome = await dd.client.resubscribe(ADA)
    contact = await dd.client.get_contact(ADA)
    assert outcome == "ContactChallenged"
    assert contact is not None
    assert contact.status == "unsubscribed"
    await dd.admin(f"contacts/{ADA}/confirm", {})  # the person clicked the confirmation email
    confirmed = await dd.client.get_contact(ADA)
    assert confirmed is not None and confirmed.status == "subscribed"


async def test_resubscribe_of_a_new_address_adds_it_without_a_challenge(dd: Dotdigital) -> None:
    assert await dd.client.resubscribe(ADA) == "ContactAdded"
    contact = await dd.client.get_contact(ADA)
    assert contact is not None and contact.status == "subscribed"


@pytest.mark.parametrize("status", ["hardBounced", "ispComplained", "suppressed"])
async def test_resubscribe_never_lifts_a_suppression(dd: Dotdigital, status: str) -> None:
    await dd.set_status(ADA, status)
    outcome = await dd.client.resubscribe(ADA)
    contact = await dd.client.get_contact(ADA)
    assert outcome == "ContactCannotBeUnsuppressed"
    assert contact is not None
    assert contact.status == status


async def test_v2_errors_are_skippable_with_the_error_code_parsed(dd: Dotdigital) -> None:
    with pytest.raises(SkippableError) as unsubscribing:
        await dd.client.unsubscribe("not-an-email")
    with pytest.raises(SkippableError) as resubscribing:
        await dd.client.resubscribe("not-an-email")
    for raised in (unsubscribing, resubscribing):
        assert raised.value.status == 400
        assert raised.value.code == "ERROR_PARAMETER_INVALID"
        assert raised.value.description == (
            "Email is not a valid email address. ERROR_PARAMETER_INVALID"
        )
