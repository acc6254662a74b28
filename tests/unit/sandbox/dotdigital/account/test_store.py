"""The contact store: upserts, renames, consent log and the change feed."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.account.contact import (
    ContactChange,
    IdentifierTaken,
    InvalidEmail,
    MergeOption,
)
from sandbox.dotdigital.account.store import ContactStore
from tests.support.dotdigital import START
from tests.support.faketime import FakeTime

OVERWRITE = MergeOption.OVERWRITE


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(wall=START)


@pytest.fixture
def store(clock: FakeTime) -> ContactStore:
    return ContactStore(clock.wall_clock)


def test_upsert_creates_then_updates_the_same_contact(store: ContactStore, clock: FakeTime) -> None:
    first, created = store.upsert("Ada@Example.com", ContactChange(data_fields={"A": 1}), OVERWRITE)
    clock.advance(5)
    second, created_again = store.upsert("ada@example.com", ContactChange(), OVERWRITE)
    assert (created, created_again) == (True, False)
    assert first is second
    assert second.contact_id == 1
    assert second.email == "ada@example.com"
    assert (second.created, second.updated) == (START, START + 5)
    assert second.data_fields == {"A": 1}


def test_contact_ids_are_sequential(store: ContactStore) -> None:
    ids = [
        store.upsert(f"c{i}@example.com", ContactChange(), OVERWRITE)[0].contact_id
        for i in range(3)
    ]
    assert ids == [1, 2, 3]


def test_upsert_rejects_an_invalid_path_email(store: ContactStore) -> None:
    with pytest.raises(InvalidEmail):
        store.upsert("nope", ContactChange(), OVERWRITE)
    assert len(store) == 0


def test_a_new_identifier_email_renames_the_contact(store: ContactStore) -> None:
    contact, _ = store.upsert("old@example.com", ContactChange(), OVERWRITE)
    store.upsert("old@example.com", ContactChange(email="new@example.com"), OVERWRITE)
    assert store.get("new@example.com") is contact
    assert store.get("old@example.com") is None


def test_renaming_onto_another_contacts_email_conflicts(store: ContactStore) -> None:
    store.upsert("a@example.com", ContactChange(), OVERWRITE)
    store.upsert("b@example.com", ContactChange(), OVERWRITE)
    with pytest.raises(IdentifierTaken):
        store.upsert("a@example.com", ContactChange(email="b@example.com"), OVERWRITE)


def test_lists_are_added_not_replaced(store: ContactStore) -> None:
    store.upsert("a@example.com", ContactChange(lists=[1, 2]), OVERWRITE)
    contact, _ = store.upsert("a@example.com", ContactChange(lists=[2, 3]), OVERWRITE)
    assert contact.lists == [1, 2, 3]


def test_an_upsert_restores_a_binned_contact(store: ContactStore) -> None:
    binned = store.force_status("ada@example.com", "deleted")
    restored, created = store.upsert("ada@example.com", ContactChange(), OVERWRITE)
    assert (restored.contact_id, created, restored.status) == (
        binned.contact_id,
        False,
        "subscribed",
    )


def test_a_status_less_upsert_keeps_an_unsubscribe(store: ContactStore) -> None:
    store.unsubscribe("ada@example.com")
    contact, _ = store.upsert("ada@example.com", ContactChange(data_fields={"A": 1}), OVERWRITE)
    assert contact.status == "unsubscribed"
    assert store.suppression(contact.contact_id) is not None


def test_unsubscribe_is_logged_once_with_its_date(store: ContactStore, clock: FakeTime) -> None:
    store.upsert("a@example.com", ContactChange(), OVERWRITE)
    clock.advance(10)
    contact, entry = store.unsubscribe("A@example.com")
    clock.advance(10)
    _, again = store.unsubscribe("a@example.com")
    assert contact.status == "unsubscribed"
    assert entry == again
    assert entry.date_removed == START + 10
    assert entry.reason == "Unsubscribed"


def test_unsubscribe_of_an_unknown_email_creates_an_unsubscribed_contact(
    store: ContactStore,
) -> None:
    contact, _ = store.unsubscribe("new@example.com")
    assert contact.status == "unsubscribed"
    assert store.get("new@example.com") is contact


def test_patch_subscribe_cannot_lift_a_hard_bounce(store: ContactStore) -> None:
    store.force_status("a@example.com", "hardBounced")
    contact, _ = store.upsert("a@example.com", ContactChange(status="subscribed"), OVERWRITE)
    assert contact.status == "hardBounced"
    assert store.suppression(contact.contact_id) is not None


def test_resubscribe_lifts_an_unsubscribe_and_clears_the_log(store: ContactStore) -> None:
    contact, _ = store.unsubscribe("a@example.com")
    _, outcome = store.resubscribe("a@example.com", {"FIRSTNAME": "Ada"}, challenge=False)
    assert outcome == "ContactAdded"
    assert contact.status == "subscribed"
    assert contact.data_fields == {"FIRSTNAME": "Ada"}
    assert store.suppression(contact.contact_id) is None


def test_challenged_resubscribe_leaves_the_contact_unsubscribed(store: ContactStore) -> None:
    contact, _ = store.unsubscribe("a@example.com")
    _, outcome = store.resubscribe("a@example.com", {}, challenge=True)
    assert outcome == "ContactChallenged"
    assert contact.status == "unsubscribed"


def test_resubscribe_cannot_unsuppress_a_complaint(store: ContactStore) -> None:
    contact = store.force_status("a@example.com", "ispComplained")
    _, outcome = store.resubscribe("a@example.com", {"X": 1}, challenge=False)
    assert outcome == "ContactCannotBeUnsuppressed"
    assert contact.status == "ispComplained"
    assert contact.data_fields == {}


def test_suppression_feed_filters_by_date_and_reason(store: ContactStore, clock: FakeTime) -> None:
    store.unsubscribe("early@example.com")
    clock.advance(100)
    store.unsubscribe("late@example.com")
    store.force_status("bounce@example.com", "hardBounced")
    since = START + 50
    every = [s.email for s in store.suppressions_since(since, None)]
    unsubscribed = [s.email for s in store.suppressions_since(since, frozenset({"Unsubscribed"}))]
    assert every == ["late@example.com", "bounce@example.com"]
    assert unsubscribed == ["late@example.com"]


def test_change_feed_pages_by_keyset_in_update_order(store: ContactStore, clock: FakeTime) -> None:
    for name in ("a", "b", "c"):
        store.upsert(f"{name}@example.com", ContactChange(), OVERWRITE)
        clock.advance(1)
    store.upsert("a@example.com", ContactChange(data_fields={"X": 1}), OVERWRITE)

    first, more = store.modified_since(START, None, 2)
    last = first[-1]
    second, more_after = store.modified_since(START, (last.updated, last.contact_id), 2)

    assert [c.email for c in first] == ["b@example.com", "c@example.com"]
    assert more is True
    assert [c.email for c in second] == ["a@example.com"]
    assert more_after is False
    assert store.modified_since(START + 2.5, None, 10)[0][0].email == "a@example.com"
