"""v3 insight data: bulk imports to a report, single records, listings and their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.errors import RateLimited, RetriableError, SkippableError, TooManyImports
from sandbox.dotdigital.account.config import SandboxConfig
from schemas.dotdigital.bodies import (
    CollectionScope,
    ContactIdentity,
    ContactUpsert,
    InsightImport,
    InsightRecord,
)
from tests.support.dotdigital import Dotdigital, sandbox

ADA = "ada@example.com"


def order(key: str, doc: dict[str, Any], email: str = ADA) -> InsightRecord:
    return InsightRecord(key=key, contact_identity=ContactIdentity(value=email), json_=doc)


def orders(*records: InsightRecord, name: str = "Orders") -> InsightImport:
    return InsightImport(
        collection_name=name,
        collection_scope=CollectionScope.CONTACT,
        collection_type="orders",
        records=list(records),
    )


def catalog(*records: InsightRecord) -> InsightImport:
    return InsightImport(
        collection_name="Catalog_Default",
        collection_scope=CollectionScope.ACCOUNT,
        collection_type="catalog",
        records=list(records),
    )


@pytest.fixture
async def ada(dd: Dotdigital) -> AsyncIterator[Dotdigital]:
    """The default sandbox with Ada already a contact (contact-scoped records need one)."""
    await dd.client.upsert_contact(ContactUpsert(email=ADA))
    yield dd


async def test_import_runs_to_finished_with_each_failure_reason(ada: Dotdigital) -> None:
    report = await ada.client.run_insight_import(
        orders(
            order("100000001", {"orderTotal": 12.5, "products": [{"sku": "S1"}]}),
            order("100000002", {"orderTotal": 1}, email="ghost@example.com"),
            order("100000003", {"order total": 1}),
            order("100000004", {"matrix": [[1, 2]]}),
            order("100000005", {"note": "x" * 1001}),
        ),
        poll_interval=3,
    )

    assert report.status == "Finished"
    assert report.collection_name == "Orders"
    assert report.summary == {"totalRecords": 5, "totalImported": 1, "totalRejected": 4}
    assert [(f.key, f.failure_reason) for f in report.failures] == [
        ("100000002", "ContactEmailDoesNotExist"),
        ("100000003", "JsonKeyInvalidCharacters"),
        ("100000004", "JsonContainsNestedArray"),
        ("100000005", "JsonValueTooLong"),
    ]
    polls = ada.network.to("GET", "/insightData/v3/import/")
    assert [e.body.count(b"NotFinished") for e in polls] == [1, 0]
    assert ada.time.sleeps == [3, 3]
    stored = await ada.client.get_insight_record("Orders", "100000001", email=ADA)
    assert stored is not None
    assert stored["json"] == {"orderTotal": 12.5, "products": [{"sku": "S1"}]}
    assert await ada.client.get_insight_record("Orders", "100000002", email=ADA) is None


async def test_an_import_finishing_as_complete_is_finished() -> None:
    async with sandbox(SandboxConfig(insight_finished_status="Complete")) as dd:
        await dd.client.upsert_contact(ContactUpsert(email=ADA))
        report = await dd.client.run_insight_import(orders(order("1", {"orderTotal": 1})))
        records = await dd.client.list_contact_insight(ADA, "Orders")
    assert report.status == "Complete"
    assert report.summary["totalImported"] == 1
    assert [r["key"] for r in records] == ["1"]


async def test_a_failed_import_is_retriable(ada: Dotdigital) -> None:
    await ada.faults(fail_imports=True)
    with pytest.raises(RetriableError) as raised:
        await ada.client.run_insight_import(orders(order("1", {"orderTotal": 1})))
    assert type(raised.value) is RetriableError
    assert raised.value.code == "Failed"


async def test_the_6th_running_import_is_refused_as_too_many_imports(ada: Dotdigital) -> None:
    for n in range(5):
        await ada.client.start_insight_import(orders(order(str(n), {"n": n})))
    with pytest.raises(TooManyImports) as raised:
        await ada.client.start_insight_import(orders(order("5", {"n": 5})))
    assert not isinstance(raised.value, RateLimited)
    assert (raised.value.status, raised.value.code) == (429, "insightData:tooManyActiveImports")


async def test_an_invalid_collection_name_is_skippable(ada: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await ada.client.run_insight_import(orders(order("1", {"a": 1}), name="1 bad name"))
    assert (raised.value.status, raised.value.code) == (400, "insightData:badJson")
    assert ada.network.to("GET", "/insightData/v3/import/") == []


async def test_the_collection_limit_is_skippable() -> None:
    async with sandbox(SandboxConfig(max_collections=1)) as dd:
        await dd.client.start_insight_import(catalog())
        with pytest.raises(SkippableError) as raised:
            await dd.client.start_insight_import(orders(name="Orders"))
    assert (raised.value.status, raised.value.code) == (412, "insightData:collectionLimitReached")


async def test_an_unknown_import_id_is_skippable(dd: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await dd.client.insight_import_report("unknown")
    assert (raised.value.status, raised.value.code) == (404, "insightData:importNotFound")


async def test_single_contact_record_is_created_then_replaced(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders())  # creates the collection
    created = await ada.client.put_insight_record("Orders", "q-1", {"cartPhase": "A"}, email=ADA)
    replaced = await ada.client.put_insight_record("Orders", "q-1", {"cartPhase": "B"}, email=ADA)
    record = await ada.client.get_insight_record("Orders", "q-1", email=ADA)

    assert (created, replaced) == (True, False)
    assert [e.status for e in ada.network.to("PUT", "/insightData/v3/contacts/")] == [201, 204]
    assert record is not None
    assert (record["key"], record["json"]) == ("q-1", {"cartPhase": "B"})
    assert {"created", "updated"} <= record.keys()


async def test_listing_a_contact_s_records_returns_every_one(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders(order("1", {"n": 1}), order("2", {"n": 2})))
    await ada.client.upsert_contact(ContactUpsert(email="bo@example.com"))
    await ada.client.put_insight_record("Orders", "3", {"n": 3}, email="bo@example.com")

    records = await ada.client.list_contact_insight(ADA, "Orders")

    assert [(r["key"], r["json"]) for r in records] == [("1", {"n": 1}), ("2", {"n": 2})]


async def test_account_scope_records_round_trip(dd: Dotdigital) -> None:
    report = await dd.client.run_insight_import(
        catalog(InsightRecord(key="7", json_={"sku": "LOOM-1", "price": 120}))
    )
    created = await dd.client.put_insight_record("Catalog_Default", "8", {"sku": "X"}, email=None)
    record = await dd.client.get_insight_record("Catalog_Default", "7", email=None)

    assert report.summary["totalImported"] == 1
    assert created is True
    assert record is not None
    assert record["json"] == {"sku": "LOOM-1", "price": 120}
    assert [e.path for e in dd.network.to("PUT", "/insightData/v3/account/")] == [
        "/insightData/v3/account/Catalog_Default/8"
    ]


async def test_missing_records_and_collections_read_as_none(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders())
    assert await ada.client.get_insight_record("Orders", "nope", email=ADA) is None
    assert await ada.client.get_insight_record("Nowhere", "1", email=None) is None


async def test_single_record_for_an_unknown_contact_is_skippable(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders())
    with pytest.raises(SkippableError) as raised:
        await ada.client.put_insight_record("Orders", "1", {"n": 1}, email="ghost@example.com")
    assert (raised.value.status, raised.value.code) == (404, "insightData:contactNotFound")


async def test_single_record_into_a_missing_collection_is_skippable(dd: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await dd.client.put_insight_record("CartInsight", "1", {"n": 1}, email=None)
    assert (raised.value.status, raised.value.code) == (404, "insightData:collectionNotFound")


async def test_single_record_with_bad_json_is_skippable(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders())
    with pytest.raises(SkippableError) as raised:
        await ada.client.put_insight_record("Orders", "1", {"rows": [[1]]}, email=ADA)
    assert (raised.value.status, raised.value.code) == (400, "insightData:badJson")


async def test_a_record_deleted_in_dotdigital_is_gone_from_the_listing_reconciliation_reads(
    ada: Dotdigital,
) -> None:
    await ada.client.run_insight_import(
        orders(order("100000001", {"orderTotal": 1}), order("100000002", {"orderTotal": 2}))
    )
    await ada.admin(f"contacts/{ADA}/insight/delete", {"collection": "Orders", "key": "100000001"})
    listed = await ada.client.list_contact_insight(ADA, "Orders")
    assert [item["key"] for item in listed] == ["100000002"]
    assert ada.client.calls["list_contact_insight"] == 1


async def test_the_sandbox_counts_imports_per_collection_for_benchmarks(ada: Dotdigital) -> None:
    await ada.client.run_insight_import(orders(order("1", {"n": 1})), poll_interval=1)
    await ada.client.run_insight_import(orders(order("2", {"n": 2})), poll_interval=1)
    await ada.client.run_insight_import(catalog(InsightRecord(key="7", json_={})), poll_interval=1)

    stats = await ada.admin("stats")

    assert stats["imports"] == {"Orders": 2, "Catalog_Default": 1}
