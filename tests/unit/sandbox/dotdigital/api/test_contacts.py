"""v3 contacts over HTTP: upsert, read, bulk import and the change feed."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dotdigital.account.config import SandboxConfig
from tests.support.dotdigital import Dotdigital, sandbox

ADA = "/contacts/v3/email/ada@example.com"


def upsert(email: str = "ada@example.com", **parts: Any) -> dict[str, Any]:
    return {"matchIdentifier": "email", "identifiers": {"email": email}, **parts}


async def test_patch_creates_with_201_then_updates_with_200(dd: Dotdigital) -> None:
    created = await dd.api.patch(
        ADA,
        json=upsert(
            dataFields={"FIRSTNAME": "Ada", "CITY": "Leeds"},
            channelProperties={
                "email": {"status": "subscribed", "emailType": "html", "optInType": "double"}
            },
            lists=[4],
        ),
    )
    updated = await dd.api.patch(
        ADA, json=upsert(dataFields={"CITY": None, "LASTNAME": "Lovelace"})
    )
    assert (created.status_code, updated.status_code) == (201, 200)
    body = updated.json()
    assert body["contactId"] == created.json()["contactId"]
    assert body["dataFields"] == {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace"}
    assert body["channelProperties"]["email"] == {
        "emailType": "Html",
        "optInType": "Double",
        "status": "subscribed",
    }
    assert body["lists"] == [{"id": 4, "name": "List 4", "status": "subscribed"}]


async def test_get_returns_the_full_contact_shape(dd: Dotdigital) -> None:
    await dd.api.patch("/contacts/v3/email/Ada@Example.com", json=upsert("Ada@Example.com"))
    response = await dd.api.get(ADA)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "contactId",
        "status",
        "created",
        "updated",
        "identifiers",
        "dataFields",
        "channelProperties",
        "lists",
        "preferences",
        "consentRecords",
    }
    assert body["identifiers"]["email"] == "ada@example.com"
    assert body["created"] == "2026-01-01T00:00:00.000Z"


async def test_get_of_an_unknown_contact_is_404_with_details(dd: Dotdigital) -> None:
    response = await dd.api.get("/contacts/v3/email/nobody@example.com")
    assert response.status_code == 404
    body = response.json()
    assert body["errorCode"] == "contacts:contactNotFound"
    assert body["details"][0]["item"] == "nobody@example.com"
    assert "description" in body


async def test_merge_option_in_the_query_is_honoured(dd: Dotdigital) -> None:
    await dd.api.patch(ADA, json=upsert(dataFields={"CITY": "Leeds"}))
    response = await dd.api.patch(
        ADA, params={"merge-option": "overwrite-if-empty"}, json=upsert(dataFields={"CITY": "York"})
    )
    assert response.json()["dataFields"] == {"CITY": "Leeds"}


async def test_bad_json_invalid_email_and_bad_status_are_400(dd: Dotdigital) -> None:
    bad_json = await dd.api.patch(
        ADA, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    bad_email = await dd.api.patch("/contacts/v3/email/not-an-email", json=upsert("not-an-email"))
    bad_status = await dd.api.patch(
        ADA, json=upsert(channelProperties={"email": {"status": "hardBounced"}})
    )
    bad_merge = await dd.api.patch(ADA, params={"merge-option": "always"}, json=upsert())
    assert bad_json.status_code == 400
    assert bad_json.json()["errorCode"] == "contacts:badJson"
    for response in (bad_email, bad_status, bad_merge):
        assert response.status_code == 400
        assert set(response.json()) == {"errorCode", "description", "details"}


async def test_changing_email_onto_another_contact_is_409(dd: Dotdigital) -> None:
    await dd.api.patch(ADA, json=upsert())
    await dd.api.patch("/contacts/v3/email/bo@example.com", json=upsert("bo@example.com"))
    response = await dd.api.patch(ADA, json=upsert("bo@example.com"))
    assert response.status_code == 409
    assert response.json()["errorCode"] == "contacts:idAlreadyExists"


async def test_subscribe_does_not_lift_a_dotdigital_side_hard_bounce(dd: Dotdigital) -> None:
    await dd.admin("contacts/ada@example.com/status", {"status": "hardBounced"})
    response = await dd.api.patch(
        ADA, json=upsert(channelProperties={"email": {"status": "subscribed"}})
    )
    assert response.json()["status"] == "hardBounced"


async def test_contact_import_runs_not_finished_then_finished_with_a_report(dd: Dotdigital) -> None:
    await dd.api.patch(ADA, json=upsert())
    submitted = await dd.api.put(
        "/contacts/v3/import",
        json={
            "mergeOption": "overwrite",
            "contacts": [
                upsert("ada@example.com", dataFields={"A": 1}),
                upsert("bo@example.com"),
                upsert("bad-email"),
            ],
        },
    )
    assert submitted.status_code == 202
    import_id = submitted.json()["importId"]
    answers = await dd.poll_import(f"/contacts/v3/import/{import_id}")
    assert [a["status"] for a in answers] == ["NotFinished", "Finished"]
    final = answers[-1]
    assert final["summary"]["newContacts"] == 1
    assert final["summary"]["updatedContacts"] == 1
    assert final["summary"]["invalidEntries"] == 1
    assert final["created"][0]["identifiers"] == {"email": "bo@example.com"}
    assert final["failures"][0]["identifiers"] == {"email": "bad-email"}
    assert (await dd.api.get(ADA)).json()["dataFields"] == {"A": 1}


async def test_unknown_import_id_is_404(dd: Dotdigital) -> None:
    response = await dd.api.get("/contacts/v3/import/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "contacts:importNotFound"


async def test_more_than_the_active_import_cap_is_429_told_apart_by_body() -> None:
    config = SandboxConfig(max_active_contact_imports=2)
    async with sandbox(config) as dd:
        statuses = []
        for _ in range(3):
            response = await dd.api.put("/contacts/v3/import", json={"contacts": [upsert()]})
            statuses.append(response.status_code)
    assert statuses == [202, 202, 429]
    assert response.json()["errorCode"] == "contacts:tooManyActiveImports"


async def test_failing_imports_fault_ends_the_job_failed(dd: Dotdigital) -> None:
    await dd.admin("faults", {"fail_imports": True})
    import_id = (await dd.api.put("/contacts/v3/import", json={"contacts": [upsert()]})).json()[
        "importId"
    ]
    answers = await dd.poll_import(f"/contacts/v3/import/{import_id}")
    assert answers[-1]["status"] == "Failed"
    assert (await dd.api.get(ADA)).status_code == 404


@pytest.mark.parametrize("status", ["RejectedByWatchdog", "ExceedsAllowedContactLimit"])
async def test_failing_contact_imports_can_end_in_the_other_failure_statuses(
    dd: Dotdigital, status: str
) -> None:
    await dd.admin("faults", {"fail_imports": True, "contact_import_failure": status})
    submitted = await dd.api.put("/contacts/v3/import", json={"contacts": [upsert()]})
    answers = await dd.poll_import(f"/contacts/v3/import/{submitted.json()['importId']}")
    assert answers[-1] == {"importId": submitted.json()["importId"], "status": status}
    assert (await dd.api.get(ADA)).status_code == 404


async def test_an_unknown_contact_import_failure_status_is_refused(dd: Dotdigital) -> None:
    response = await dd.anonymous.post(
        "/_sandbox/faults", json={"fail_imports": True, "contact_import_failure": "Complete"}
    )
    assert response.status_code == 400


async def test_time_based_imports_finish_when_the_clock_says_so() -> None:
    async with sandbox(SandboxConfig(import_seconds_before_finished=30)) as dd:
        import_id = (await dd.api.put("/contacts/v3/import", json={"contacts": [upsert()]})).json()[
            "importId"
        ]
        early = await dd.api.get(f"/contacts/v3/import/{import_id}")
        dd.advance(30)
        read = await dd.api.get(ADA)
    assert early.json()["status"] == "NotFinished"
    assert read.status_code == 200


async def test_change_feed_pages_with_markers_and_include(dd: Dotdigital) -> None:
    for name in ("a", "b", "c"):
        await dd.api.patch(
            f"/contacts/v3/email/{name}@example.com", json=upsert(f"{name}@example.com")
        )
        dd.advance(60)
    params = {
        "~modified": "gte::2026-01-01T00:01:00Z",
        "limit": "1",
        "include": "channelProperties",
    }
    first = (await dd.api.get("/contacts/v3", params=params)).json()
    marker = first["_links"]["next"]["marker"]
    second = (await dd.api.get("/contacts/v3", params={**params, "marker": marker})).json()
    assert [c["identifiers"]["email"] for c in first["_items"]] == ["b@example.com"]
    assert "channelProperties" in first["_items"][0]
    assert "dataFields" not in first["_items"][0]
    assert [c["identifiers"]["email"] for c in second["_items"]] == ["c@example.com"]
    assert "_links" not in second


async def test_change_feed_rejects_a_bad_date(dd: Dotdigital) -> None:
    response = await dd.api.get("/contacts/v3", params={"~modified": "gte::yesterday"})
    assert response.status_code == 400
