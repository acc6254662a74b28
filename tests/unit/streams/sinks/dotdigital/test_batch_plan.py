"""Planning a sink batch: one write per contact and per record, later commands winning."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.dotdigital.bodies import ContactIdentity, InsightRecord
from schemas.dotdigital.commands import ContactWrite, InsightWrite, WriteCommand
from streams.sinks.dotdigital.batch_plan import BatchPlan, plan_batch

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def contact(email: str, event_id: str, **fields: Any) -> WriteCommand:
    return WriteCommand(
        command=ContactWrite(
            email=email, data_fields=fields, source_event_id=event_id, issued_at=AT
        )
    )


def insight(
    key: str,
    document: dict[str, Any],
    *,
    email: str | None = "ada@example.com",
    collection: str = "Orders",
    event_id: str = "evt",
) -> WriteCommand:
    identity = ContactIdentity(value=email) if email else None
    return WriteCommand(
        command=InsightWrite(
            email=email,
            collection=collection,
            collection_type="Order" if collection == "Orders" else collection,
            record=InsightRecord(key=key, contact_identity=identity, json_=document),
            subject=f"{collection} {key}",
            source_event_id=event_id,
            issued_at=AT,
        )
    )


def test_empty_batch_plans_nothing() -> None:
    plan: BatchPlan[str] = plan_batch([])

    assert plan.contacts == {}
    assert plan.records == {}
    assert plan.collections() == {}


def test_later_insight_write_for_the_same_record_wins_and_keeps_both_origins() -> None:
    plan = plan_batch(
        [
            (insight("000000042", {"orderStatus": "pending"}), "offset-1"),
            (insight("000000042", {"orderStatus": "complete"}), "offset-2"),
        ]
    )

    [planned] = plan.records.values()
    assert planned.write.record.json_ == {"orderStatus": "complete"}
    assert planned.origins == ["offset-1", "offset-2"]


def test_same_key_for_different_emails_are_different_records() -> None:
    plan = plan_batch(
        [
            (insight("K1", {"n": 1}, email="ada@example.com"), 1),
            (insight("K1", {"n": 2}, email="bob@example.com"), 2),
        ]
    )

    assert sorted(planned.origins[0] for planned in plan.records.values()) == [1, 2]


def test_contact_data_fields_merge_in_arrival_order() -> None:
    plan = plan_batch(
        [
            (contact("ada@example.com", "e1", FIRSTNAME="Ada", ORDER_COUNT=1), "a"),
            (contact("bob@example.com", "e2", FIRSTNAME="Bob"), "b"),
            (contact("ada@example.com", "e3", ORDER_COUNT=2, LASTNAME="Lovelace"), "c"),
        ]
    )

    ada = plan.contacts["ada@example.com"]
    assert ada.data_fields == {"FIRSTNAME": "Ada", "ORDER_COUNT": 2, "LASTNAME": "Lovelace"}
    assert ada.origins == ["a", "c"]
    assert plan.contacts["bob@example.com"].origins == ["b"]
    assert list(plan.contacts) == ["ada@example.com", "bob@example.com"]


def test_records_are_grouped_by_collection() -> None:
    plan = plan_batch(
        [
            (insight("O1", {"n": 1}), 1),
            (insight("W1", {"n": 2}, collection="Wishlist"), 2),
            (insight("O2", {"n": 3}), 3),
            (insight("P1", {"sku": "LOOM"}, email=None, collection="Catalog"), 4),
        ]
    )

    grouped = plan.collections()

    assert set(grouped) == {("Orders", "Order"), ("Wishlist", "Wishlist"), ("Catalog", "Catalog")}
    assert [p.write.record.key for p in grouped[("Orders", "Order")]] == ["O1", "O2"]
    assert [p.write.record.key for p in grouped[("Catalog", "Catalog")]] == ["P1"]


def test_contacts_and_records_are_planned_separately() -> None:
    plan = plan_batch(
        [
            (contact("ada@example.com", "e1", FIRSTNAME="Ada"), 1),
            (insight("O1", {"n": 1}), 2),
        ]
    )

    assert list(plan.contacts) == ["ada@example.com"]
    assert list(plan.records) == [("Orders", "O1", "ada@example.com")]
