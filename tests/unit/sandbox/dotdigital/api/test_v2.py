"""v2 over HTTP: unsubscribe, resubscribe, consent feeds and program enrolments."""

from __future__ import annotations

import asyncio

from sandbox.dotdigital.account.config import SandboxConfig
from tests.support.dotdigital import Dotdigital, sandbox

ADA = "ada@example.com"


def resubscribe_body(email: str) -> dict[str, object]:
    return {
        "unsubscribedContact": {
            "email": email,
            "dataFields": [{"key": "FIRSTNAME", "value": "Ada"}],
        }
    }


async def test_unsubscribe_shows_in_v3_and_in_both_feeds(dd: Dotdigital) -> None:
    await dd.api.patch(f"/contacts/v3/email/{ADA}", json={"identifiers": {"email": ADA}})
    dd.advance(60)
    response = await dd.api.post("/v2/contacts/unsubscribe", json={"email": "Ada@Example.com"})
    contact = await dd.api.get(f"/contacts/v3/email/{ADA}")
    unsubscribed = await dd.api.get("/v2/contacts/unsubscribed-since/2026-01-01T00:00:30Z")
    suppressed = await dd.api.get("/v2/contacts/suppressed-since/2026-01-01")
    later = await dd.api.get("/v2/contacts/unsubscribed-since/2026-01-02")

    assert response.status_code == 200
    assert response.json() == {
        "suppressedContact": {
            "id": 1,
            "email": ADA,
            "optInType": "Unknown",
            "emailType": "Html",
            "dataFields": [],
            "status": "Unsubscribed",
        },
        "dateRemoved": "2026-01-01T00:01:00.000Z",
        "reason": "Unsubscribed",
    }
    assert contact.json()["status"] == "unsubscribed"
    assert [r["suppressedContact"]["email"] for r in unsubscribed.json()] == [ADA]
    assert [r["reason"] for r in suppressed.json()] == ["Unsubscribed"]
    assert later.json() == []


async def test_unsubscribe_of_an_invalid_email_is_a_v2_error(dd: Dotdigital) -> None:
    response = await dd.api.post("/v2/contacts/unsubscribe", json={"email": "nope"})
    assert response.status_code == 400
    assert response.json()["message"].endswith("ERROR_PARAMETER_INVALID")


async def test_feeds_page_with_select_and_skip(dd: Dotdigital) -> None:
    for name in ("a", "b", "c"):
        await dd.api.post("/v2/contacts/unsubscribe", json={"email": f"{name}@example.com"})
        dd.advance(1)
    page = await dd.api.get(
        "/v2/contacts/suppressed-since/2026-01-01", params={"select": 2, "skip": 1}
    )
    too_big = await dd.api.get("/v2/contacts/suppressed-since/2026-01-01", params={"select": 1001})
    assert [r["suppressedContact"]["email"] for r in page.json()] == [
        "b@example.com",
        "c@example.com",
    ]
    assert too_big.status_code == 400


async def test_suppressed_feed_shows_dotdigital_side_bounces(dd: Dotdigital) -> None:
    await dd.admin(f"contacts/{ADA}/status", {"status": "hardBounced"})
    suppressed = await dd.api.get("/v2/contacts/suppressed-since/2026-01-01")
    unsubscribed = await dd.api.get("/v2/contacts/unsubscribed-since/2026-01-01")
    assert [r["reason"] for r in suppressed.json()] == ["HardBounced"]
    assert unsubscribed.json() == []


async def test_resubscribe_with_no_challenge_adds_an_unsubscribed_contact_back(
    dd: Dotdigital,
) -> None:
    await dd.api.post("/v2/contacts/unsubscribe", json={"email": ADA})
    response = await dd.api.post(
        "/v2/contacts/resubscribe-with-no-challenge", json=resubscribe_body(ADA)
    )
    body = response.json()
    assert body["status"] == "ContactAdded"
    assert body["contact"]["status"] == "Subscribed"
    assert body["contact"]["dataFields"] == [{"key": "FIRSTNAME", "value": "Ada"}]
    assert (await dd.api.get("/v2/contacts/unsubscribed-since/2026-01-01")).json() == []


async def test_resubscribe_challenges_an_unsubscribed_contact_until_they_click(
    dd: Dotdigital,
) -> None:
    await dd.api.post("/v2/contacts/unsubscribe", json={"email": ADA})
    response = await dd.api.post("/v2/contacts/resubscribe", json=resubscribe_body(ADA))
    waiting = await dd.api.get(f"/contacts/v3/email/{ADA}")
    clicked = await dd.admin(f"contacts/{ADA}/confirm", {})
    after = await dd.api.get(f"/contacts/v3/email/{ADA}")
    assert response.json()["status"] == "ContactChallenged"
    assert waiting.json()["status"] == "unsubscribed"
    assert clicked["status"] == after.json()["status"] == "subscribed"
    assert (await dd.api.get("/v2/contacts/unsubscribed-since/2026-01-01")).json() == []


async def test_a_confirmation_click_needs_a_challenge(dd: Dotdigital) -> None:
    await dd.api.post("/v2/contacts/unsubscribe", json={"email": ADA})
    response = await dd.anonymous.post(f"/_sandbox/contacts/{ADA}/confirm", json={})
    assert response.status_code == 409
    assert (await dd.api.get(f"/contacts/v3/email/{ADA}")).json()["status"] == "unsubscribed"


async def test_resubscribe_adds_at_once_when_the_account_does_not_challenge() -> None:
    async with sandbox(SandboxConfig(resubscribe_challenges=False)) as dd:
        await dd.api.post("/v2/contacts/unsubscribe", json={"email": ADA})
        response = await dd.api.post("/v2/contacts/resubscribe", json=resubscribe_body(ADA))
    assert response.json()["status"] == "ContactAdded"


async def test_resubscribe_cannot_unsuppress_a_complaint(dd: Dotdigital) -> None:
    await dd.admin(f"contacts/{ADA}/status", {"status": "ispComplained"})
    response = await dd.api.post("/v2/contacts/resubscribe", json=resubscribe_body(ADA))
    assert response.json()["status"] == "ContactCannotBeUnsuppressed"
    assert response.json()["contact"]["status"] == "IspComplained"


async def test_enrolment_is_accepted_and_readable_from_the_admin_surface(dd: Dotdigital) -> None:
    created = await dd.api.patch(f"/contacts/v3/email/{ADA}", json={"identifiers": {"email": ADA}})
    contact_id = created.json()["contactId"]
    response = await dd.api.post(
        "/v2/programs/enrolments", json={"programId": 1, "contacts": [contact_id]}
    )
    listed = await dd.admin("enrolments")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("programId", "status", "contacts")} == {
        "programId": 1,
        "status": "Processing",
        "contacts": [contact_id],
    }
    assert listed["enrolments"][0]["id"] == body["id"]
    assert listed["enrolments"][0]["contactStatuses"] == {str(contact_id): "subscribed"}


async def test_enrolment_errors_are_v2_messages(dd: Dotdigital) -> None:
    unknown = await dd.api.post("/v2/programs/enrolments", json={"programId": 99, "contacts": [1]})
    too_many = await dd.api.post(
        "/v2/programs/enrolments", json={"programId": 1, "contacts": list(range(26))}
    )
    await dd.admin("programs", {"programs": {"5": False}})
    inactive = await dd.api.post("/v2/programs/enrolments", json={"programId": 5, "contacts": [1]})
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"message": "Error: ERROR_PROGRAM_NOT_FOUND"},
    )
    assert (too_many.status_code, too_many.json()) == (
        400,
        {"message": "Error: ERROR_ENROLMENT_INVALID"},
    )
    assert (inactive.status_code, inactive.json()) == (
        422,
        {"message": "Error: ERROR_PROGRAM_NOT_ACTIVE"},
    )


async def test_a_held_enrolment_is_recorded_before_its_answer_goes_out(dd: Dotdigital) -> None:
    created = await dd.api.patch(f"/contacts/v3/email/{ADA}", json={"identifiers": {"email": ADA}})
    contact_id = created.json()["contactId"]
    await dd.faults(hold_enrolment_answers=True)
    call = asyncio.create_task(
        dd.api.post("/v2/programs/enrolments", json={"programId": 1, "contacts": [contact_id]})
    )
    deadline = asyncio.get_running_loop().time() + 10
    while not (await dd.admin("enrolments"))["enrolments"]:
        assert asyncio.get_running_loop().time() < deadline, "the enrolment was never recorded"
    assert not call.done()  # recorded, and the caller has not heard so

    await dd.faults()
    answer = await call

    assert answer.status_code == 201
    assert len((await dd.admin("enrolments"))["enrolments"]) == 1
