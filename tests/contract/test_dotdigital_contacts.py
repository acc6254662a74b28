"""v3 contacts: upsert by email with merge options, reads, and the change feed, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.errors import SkippableError
from schemas.dotdigital.bodies import ContactUpsert, EmailChannel, MergeOption
from tests.support.dotdigital import START, Dotdigital

ADA = "ada+shop@example.com"  # `+` and `@` must survive the path segment
SINCE = datetime.fromtimestamp(START, tz=UTC)


def upsert(email: str = ADA, **fields: Any) -> ContactUpsert:
    return ContactUpsert(email=email, data_fields=fields)


async def test_patch_creates_then_updates_the_same_contact(dd: Dotdigital) -> None:
    created, was_created = await dd.client.upsert_contact(
        ContactUpsert(
            email=ADA,
            data_fields={"FIRSTNAME": "Ada"},
            email_channel=EmailChannel(status="subscribed", opt_in_type="single"),
            lists=[7],
        )
    )
    updated, was_updated = await dd.client.upsert_contact(upsert(LASTNAME="Lovelace"))

    assert (was_created, was_updated) == (True, False)
    assert created.contact_id == updated.contact_id
    assert updated.email == ADA
    assert updated.data_fields == {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace"}
    assert updated.channel_properties["email"]["optInType"] == "Single"
    assert [e.status for e in dd.network.to("PATCH", "/contacts/v3/email/")] == [201, 200]


async def test_overwrite_if_empty_fills_gaps_and_keeps_what_is_there(dd: Dotdigital) -> None:
    await dd.client.upsert_contact(upsert(FIRSTNAME="Ada"))
    merged, _ = await dd.client.upsert_contact(
        upsert(FIRSTNAME="Augusta", LASTNAME="Lovelace"), MergeOption.OVERWRITE_IF_EMPTY
    )
    assert merged.data_fields == {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace"}
    assert dd.network.to("PATCH", "/contacts/v3/email/")[-1].params == {
        "merge-option": "overwrite-if-empty"
    }


async def test_overwrite_if_not_empty_never_blanks_a_field(dd: Dotdigital) -> None:
    await dd.client.upsert_contact(upsert(FIRSTNAME="Ada", LASTNAME="Lovelace"))
    merged, _ = await dd.client.upsert_contact(
        upsert(FIRSTNAME="", LASTNAME="King"), MergeOption.OVERWRITE_IF_NOT_EMPTY
    )
    assert merged.data_fields == {"FIRSTNAME": "Ada", "LASTNAME": "King"}


async def test_a_null_data_field_clears_it(dd: Dotdigital) -> None:
    await dd.client.upsert_contact(upsert(FIRSTNAME="Ada", LASTNAME="Lovelace"))
    await dd.client.upsert_contact(upsert(LASTNAME=None))
    found = await dd.client.get_contact(ADA)
    assert found is not None
    assert found.data_fields == {"FIRSTNAME": "Ada"}


async def test_get_finds_a_contact_by_email_case_insensitively(dd: Dotdigital) -> None:
    created, _ = await dd.client.upsert_contact(upsert(FIRSTNAME="Ada"))
    found = await dd.client.get_contact(ADA.upper())
    assert found is not None
    assert (found.contact_id, found.status, found.email) == (created.contact_id, "subscribed", ADA)


@pytest.mark.parametrize(
    "email", ["o/neil@example.com", "a#b@example.com", "q?x@example.com", "%41@example.com"]
)
async def test_emails_with_url_characters_reach_the_right_contact(
    dd: Dotdigital, email: str
) -> None:
    created, _ = await dd.client.upsert_contact(upsert(email))
    found = await dd.client.get_contact(email)
    assert created.email == email
    assert found is not None
    assert (found.contact_id, found.email) == (created.contact_id, email)


async def test_an_upsert_restores_a_binned_contact(dd: Dotdigital) -> None:
    created, _ = await dd.client.upsert_contact(upsert(FIRSTNAME="Ada"))
    await dd.set_status(ADA, "deleted")  # binned in Dotdigital's UI
    restored, was_created = await dd.client.upsert_contact(upsert(LASTNAME="Lovelace"))
    assert was_created is False
    assert (restored.contact_id, restored.status) == (created.contact_id, "subscribed")
    assert restored.data_fields == {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace"}


async def test_get_of_an_unknown_contact_is_none(dd: Dotdigital) -> None:
    assert await dd.client.get_contact("nobody@example.com") is None
    assert dd.network.exchanges[-1].status == 404


async def test_an_invalid_email_is_skippable_with_the_v3_code(dd: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await dd.client.upsert_contact(upsert("not-an-email"))
    assert raised.value.status == 400
    assert raised.value.code == "contacts:validationFailed"
    assert raised.value.description == "Email is not a valid email address."


async def test_change_feed_follows_markers_across_pages(dd: Dotdigital) -> None:
    await dd.client.upsert_contact(upsert("before@example.com"))
    dd.advance(60)
    emails = [f"c{i}@example.com" for i in range(5)]
    for email in emails:
        dd.advance(1)
        await dd.client.upsert_contact(upsert(email, N=email[1]))

    since = SINCE + timedelta(seconds=30)
    feed = [contact async for contact in dd.client.modified_contacts(since, limit=2)]

    assert [c.email for c in feed] == emails
    assert all(c.channel_properties["email"]["status"] == "subscribed" for c in feed)
    pages = dd.network.to("GET", "/contacts/v3")
    assert len(pages) == 3
    assert pages[0].params == {
        "~modified": "gte::2026-01-01T00:00:30Z",
        "include": "channelProperties",
        "limit": "2",
    }
    assert "marker" in pages[1].params
    assert pages[2].params["marker"] != pages[1].params["marker"]


async def test_change_feed_of_a_quiet_account_is_one_empty_page(dd: Dotdigital) -> None:
    assert [c async for c in dd.client.modified_contacts(SINCE)] == []
    assert len(dd.network.to("GET", "/contacts/v3")) == 1


async def test_the_change_feed_brings_data_fields_when_asked_for_them(dd: Dotdigital) -> None:
    """Reconciliation reads every buyer's ORDER_COUNT and LIFETIME_VALUE in one Low call."""
    since = SINCE
    fields = {"ORDER_COUNT": 2, "LIFETIME_VALUE": 45.5}
    await dd.client.upsert_contact(ContactUpsert(email="feed@example.com", data_fields=fields))
    plain = [c async for c in dd.client.modified_contacts(since)]
    asked = [c async for c in dd.client.modified_contacts(since, include=("dataFields",))]
    assert [c.data_fields for c in plain] == [{}]
    assert [c.data_fields for c in asked] == [fields]
    assert dd.client.calls["modified_contacts"] == 2
