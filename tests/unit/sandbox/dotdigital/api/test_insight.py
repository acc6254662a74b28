"""v3 insight data over HTTP: bulk import lifecycle and single records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.dotdigital.account.config import SandboxConfig
from tests.support.dotdigital import Dotdigital, sandbox

ADA = "ada@example.com"
ORDER = "/insightData/v3/contacts/email/ada@example.com/Orders/100000001"


def record(key: str, email: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "contactIdentity": {"identifier": "email", "value": email}, "json": doc}


def orders_import(*records: dict[str, Any]) -> dict[str, Any]:
    return {
        "collectionName": "Orders",
        "collectionScope": "contact",
        "collectionType": "orders",
        "records": list(records),
    }


@pytest.fixture
async def dd() -> AsyncIterator[Dotdigital]:
    async with sandbox() as running:
        await running.api.patch(f"/contacts/v3/email/{ADA}", json={"identifiers": {"email": ADA}})
        yield running


async def submit(dd: Dotdigital, body: dict[str, Any]) -> str:
    response = await dd.api.put("/insightData/v3/import", json=body)
    assert response.status_code == 202, response.text
    import_id: str = response.json()["importId"]
    return import_id


async def test_import_lifecycle_reports_unknown_contacts_and_bad_keys(dd: Dotdigital) -> None:
    import_id = await submit(
        dd,
        orders_import(
            record("100000001", ADA, {"orderTotal": 12.5, "products": [{"sku": "S1"}]}),
            record("100000002", "ghost@example.com", {"orderTotal": 1}),
            record("100000003", ADA, {"order total": 1}),
        ),
    )
    before = await dd.api.get(ORDER)
    answers = await dd.poll_import(f"/insightData/v3/import/{import_id}")
    after = await dd.api.get(ORDER)

    assert before.status_code == 404
    assert [a["status"] for a in answers] == ["NotFinished", "Finished"]
    final = answers[-1]
    assert final["collectionName"] == "Orders"
    assert final["summary"] == {"totalRecords": 3, "totalImported": 1, "totalRejected": 2}
    assert {(f["key"], f["failureReason"]) for f in final["failures"]} == {
        ("100000002", "ContactEmailDoesNotExist"),
        ("100000003", "JsonKeyInvalidCharacters"),
    }
    assert all(
        {"key", "failureReason", "details", "collectionOwner"} == f.keys()
        for f in final["failures"]
    )
    assert after.status_code == 200
    assert after.json()["json"] == {"orderTotal": 12.5, "products": [{"sku": "S1"}]}


async def test_importing_the_same_key_twice_keeps_one_record(dd: Dotdigital) -> None:
    for total in (1, 2):
        import_id = await submit(dd, orders_import(record("100000001", ADA, {"orderTotal": total})))
        await dd.poll_import(f"/insightData/v3/import/{import_id}")
    listing = await dd.api.get("/insightData/v3/contacts/email/ada@example.com/Orders")
    assert [(r["key"], r["json"]) for r in listing.json()["_items"]] == [
        ("100000001", {"orderTotal": 2})
    ]


async def test_invalid_collection_name_is_400(dd: Dotdigital) -> None:
    response = await dd.api.put(
        "/insightData/v3/import", json={**orders_import(), "collectionName": "1 bad"}
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == "insightData:badJson"


async def test_more_than_the_insight_import_cap_is_429() -> None:
    async with sandbox(SandboxConfig(max_active_insight_imports=1)) as dd:
        first = await dd.api.put("/insightData/v3/import", json=orders_import())
        second = await dd.api.put("/insightData/v3/import", json=orders_import())
    assert first.status_code == 202
    assert second.status_code == 429
    assert second.json()["errorCode"] == "insightData:tooManyActiveImports"


async def test_imports_can_finish_as_complete_the_spec_s_word() -> None:
    async with sandbox(SandboxConfig(insight_finished_status="Complete")) as dd:
        await dd.api.patch(f"/contacts/v3/email/{ADA}", json={"identifiers": {"email": ADA}})
        import_id = await submit(dd, orders_import(record("100000001", ADA, {"orderTotal": 1})))
        answers = await dd.poll_import(f"/insightData/v3/import/{import_id}")
        stored = await dd.api.get(ORDER)
    assert [a["status"] for a in answers] == ["NotFinished", "Complete"]
    assert answers[-1]["summary"]["totalImported"] == 1
    assert stored.status_code == 200


async def test_failing_insight_imports_end_failed_whatever_the_contact_failure(
    dd: Dotdigital,
) -> None:
    await dd.admin("faults", {"fail_imports": True, "contact_import_failure": "RejectedByWatchdog"})
    import_id = await submit(dd, orders_import(record("100000001", ADA, {"orderTotal": 1})))
    answers = await dd.poll_import(f"/insightData/v3/import/{import_id}")
    assert answers[-1]["status"] == "Failed"


async def test_unknown_insight_import_is_404(dd: Dotdigital) -> None:
    response = await dd.api.get("/insightData/v3/import/unknown")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "insightData:importNotFound"


async def test_single_put_answers_201_new_then_204_replaced(dd: Dotdigital) -> None:
    await submit(dd, orders_import())  # creates the collection
    created = await dd.api.put(ORDER, json={"orderTotal": 1})
    replaced = await dd.api.put(ORDER, json={"orderTotal": 2})
    read = await dd.api.get(ORDER)
    assert (created.status_code, replaced.status_code) == (201, 204)
    assert replaced.content == b""
    assert read.json()["key"] == "100000001"
    assert read.json()["json"] == {"orderTotal": 2}


async def test_single_put_needs_the_contact_and_the_collection(dd: Dotdigital) -> None:
    no_collection = await dd.api.put(ORDER, json={"a": 1})
    await submit(dd, orders_import())
    no_contact = await dd.api.put(
        "/insightData/v3/contacts/email/ghost@example.com/Orders/1", json={"a": 1}
    )
    assert no_collection.status_code == 404
    assert no_collection.json()["errorCode"] == "insightData:collectionNotFound"
    assert no_contact.status_code == 404
    assert no_contact.json()["errorCode"] == "insightData:contactNotFound"


async def test_single_put_rejects_nested_arrays(dd: Dotdigital) -> None:
    await submit(dd, orders_import())
    response = await dd.api.put(ORDER, json={"grid": [[1]]})
    assert response.status_code == 400
    assert response.json()["details"][0]["description"] == "JsonContainsNestedArray"


async def test_account_records_round_trip(dd: Dotdigital) -> None:
    import_id = await submit(
        dd,
        {
            "collectionName": "Catalog_Default",
            "collectionScope": "account",
            "collectionType": "catalog",
            "records": [{"key": "sku-1", "json": {"name": "Mug"}}],
        },
    )
    await dd.poll_import(f"/insightData/v3/import/{import_id}")
    created = await dd.api.put(
        "/insightData/v3/account/Catalog_Default/sku-2", json={"name": "Cup"}
    )
    one = await dd.api.get("/insightData/v3/account/Catalog_Default/sku-1")
    missing = await dd.api.get("/insightData/v3/account/Catalog_Default/sku-9")
    stats = await dd.admin("stats")
    assert created.status_code == 201
    assert one.json()["json"] == {"name": "Mug"}
    assert missing.status_code == 404
    assert stats["collections"] == {"Catalog_Default": 2}


async def test_the_admin_surface_lists_every_contact_with_its_records_without_a_call(
    dd: Dotdigital,
) -> None:
    import_id = await submit(dd, orders_import(record("100000001", ADA, {"orderTotal": 3})))
    await dd.poll_import(f"/insightData/v3/import/{import_id}")
    calls = (await dd.admin("stats"))["calls"]

    (contact,) = (await dd.admin("contacts"))["contacts"]

    assert contact["identifiers"]["email"] == ADA
    assert [(r["key"], r["json"]) for r in contact["insight"]["Orders"]] == [
        ("100000001", {"orderTotal": 3})
    ]
    assert (await dd.admin("stats"))["calls"] == calls  # not spent from the account's budget
