"""The sandbox over HTTP: auth, region, account-info, rate limits, faults, the admin surface."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dotdigital.account.config import SandboxConfig
from tests.support.dotdigital import START, Dotdigital, sandbox

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Scope",
)
CONTACT = "/contacts/v3/email/ada@example.com"


async def test_wrong_credentials_get_401_with_the_v2_message(dd: Dotdigital) -> None:
    anonymous = await dd.anonymous.get("/v2/account-info")
    wrong = await dd.anonymous.get(CONTACT, auth=("apiuser@example.com", "wrong-password"))
    for response in (anonymous, wrong):
        assert response.status_code == 401
        assert response.json() == {"message": "Authorization has been denied for this request."}


async def test_account_info_advertises_the_sandbox_itself(dd: Dotdigital) -> None:
    response = await dd.api.get("/v2/account-info")
    assert response.status_code == 200
    body = response.json()
    properties = {p["name"]: p["value"] for p in body["properties"]}
    assert body["id"] == dd.config.account_id
    assert properties["ApiEndpoint"] == dd.base_url + "/"
    assert {"MainEmail", "APILocale", "CurrencyCode", "TimeZoneIana"} <= properties.keys()
    assert properties["ApiCallsInLastHour"] == "1"
    assert properties["ApiCallsRemaining"] == "1999"
    assert all({"name", "type", "value"} == p.keys() for p in body["properties"])


async def test_every_authorised_answer_carries_the_four_rate_headers(dd: Dotdigital) -> None:
    responses = [
        await dd.api.get("/v2/account-info"),
        await dd.api.get(CONTACT),  # a 404 answer
        await dd.api.patch(CONTACT, json={"identifiers": {"email": "ada@example.com"}}),
    ]
    for response in responses:
        assert all(name in response.headers for name in RATE_HEADERS), response.headers
    assert responses[0].headers["X-RateLimit-Scope"] == "high"
    assert responses[1].headers["X-RateLimit-Scope"] == "medium"


async def test_spent_tier_answers_429_until_the_minute_turns() -> None:
    config = SandboxConfig(tier_budgets={"low": 2, "medium": 3, "high": 10})
    async with sandbox(config) as dd:
        for _ in range(3):
            assert (await dd.api.get(CONTACT)).status_code == 404
        dd.advance(15)
        refused = await dd.api.get(CONTACT)
        other_tier = await dd.api.get("/v2/account-info")
        dd.advance(45)
        again = await dd.api.get(CONTACT)

    assert refused.status_code == 429
    assert {name: refused.headers[name] for name in RATE_HEADERS} == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "45",
        "X-RateLimit-Scope": "medium",
    }
    assert refused.json()["errorCode"] == "contacts:rateLimitExceeded"
    assert other_tier.status_code == 200
    assert again.status_code == 404


async def test_reset_header_can_be_an_epoch() -> None:
    async with sandbox(SandboxConfig(reset_format="epoch")) as dd:
        response = await dd.api.get("/v2/account-info")
    assert response.headers["X-RateLimit-Reset"] == str(int(START + 60))


async def test_flat_mode_caps_the_hour_with_the_v2_usage_error() -> None:
    async with sandbox(SandboxConfig(rate_mode="flat", flat_hourly_limit=2)) as dd:
        await dd.api.get("/v2/account-info")
        await dd.api.get(CONTACT)
        capped = await dd.api.get(CONTACT)
        enrolment = await dd.api.post(
            "/v2/programs/enrolments", json={"programId": 1, "contacts": [5]}
        )
    assert capped.status_code == 400
    assert capped.json()["message"].endswith("ERROR_APIUSAGE_EXCEEDED")
    assert capped.headers["X-RateLimit-Remaining"] == "0"
    # Enrolments do not count towards the hourly cap: this one reaches the handler.
    assert enrolment.status_code == 400
    assert enrolment.json() == {"message": "Error: ERROR_CONTACT_NOT_FOUND"}


async def test_limits_change_at_runtime(dd: Dotdigital) -> None:
    limits = await dd.admin("limits", {"tier_budgets": {"high": 1}, "reset_format": "epoch"})
    first = await dd.api.get("/v2/account-info")
    second = await dd.api.get("/v2/account-info")
    assert limits["tier_budgets"]["high"] == 1
    assert limits["reset_format"] == "epoch"
    assert (first.status_code, second.status_code) == (200, 429)


async def test_wrong_region_host_is_forbidden_when_checked() -> None:
    config = SandboxConfig(check_region_host=True, region_host="r1-api.dotdigital.com")
    async with sandbox(config) as dd:
        wrong = await dd.api.get("/v2/account-info")
        right = await dd.api.get("/v2/account-info", headers={"Host": "r1-api.dotdigital.com"})
    assert wrong.status_code == 403
    assert "message" in wrong.json()
    assert right.status_code == 200


async def test_account_info_answers_on_the_discovery_host_and_points_at_the_region() -> None:
    config = SandboxConfig(check_region_host=True, region_host="r2-api.dotdigital.com")
    async with sandbox(config) as dd:
        discovery = {"Host": "r1-api.dotdigital.com"}
        info = await dd.api.get("/v2/account-info", headers=discovery)
        other_call = await dd.api.get(CONTACT, headers=discovery)
        region_call = await dd.api.get(CONTACT, headers={"Host": "r2-api.dotdigital.com"})
    assert info.status_code == 200
    properties = {p["name"]: p["value"] for p in info.json()["properties"]}
    assert properties["ApiEndpoint"] == "http://r2-api.dotdigital.com/"
    assert other_call.status_code == 403
    assert other_call.json()["errorCode"] == "forbidden"
    assert region_call.status_code == 404  # past the region check: the contact is unknown


async def test_advertised_region_endpoint_keeps_the_port_the_caller_used() -> None:
    config = SandboxConfig(check_region_host=True, region_host="r2-api.dotdigital.com")
    async with sandbox(config) as dd:
        info = await dd.api.get("/v2/account-info", headers={"Host": "r1-api.dotdigital.com:8025"})
    properties = {p["name"]: p["value"] for p in info.json()["properties"]}
    assert properties["ApiEndpoint"] == "http://r2-api.dotdigital.com:8025/"


async def test_injected_503_has_an_empty_body(dd: Dotdigital) -> None:
    await dd.admin("faults", {"error_rate": 1.0, "error_status": 503, "error_body": "empty"})
    response = await dd.api.get("/v2/account-info")
    assert response.status_code == 503
    assert response.content == b""


async def test_injected_500_can_be_an_html_page(dd: Dotdigital) -> None:
    await dd.admin("faults", {"error_rate": 1.0, "error_status": 500, "error_body": "html"})
    response = await dd.api.get(CONTACT)
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


async def test_faults_never_touch_the_admin_surface(dd: Dotdigital) -> None:
    await dd.admin("faults", {"error_rate": 1.0, "drop_connection_rate": 1.0})
    stats = await dd.admin("stats")
    assert stats["contacts"] == 0


async def test_dropped_connection_reaches_the_client_as_a_protocol_error(dd: Dotdigital) -> None:
    await dd.admin("faults", {"drop_connection_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        await dd.api.get("/v2/account-info")


async def test_burst_429_refuses_the_next_calls_only(dd: Dotdigital) -> None:
    await dd.admin("faults", {"burst_429": 2})
    statuses = [(await dd.api.get("/v2/account-info")).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


async def test_seeded_error_rate_fails_the_same_calls_each_run(dd: Dotdigital) -> None:
    runs = []
    for _ in range(2):
        await dd.admin("faults", {"error_rate": 0.5, "seed": 42})
        runs.append([(await dd.api.get("/v2/account-info")).status_code for _ in range(12)])
    assert runs[0] == runs[1]
    assert {200, 500} == set(runs[0])


async def test_invalid_fault_settings_are_refused(dd: Dotdigital) -> None:
    response = await dd.anonymous.post("/_sandbox/faults", json={"error_rate": 2})
    assert response.status_code == 400
    assert "error" in response.json()


async def test_reset_forgets_contacts_and_faults(dd: Dotdigital) -> None:
    await dd.api.patch(CONTACT, json={"identifiers": {"email": "ada@example.com"}})
    await dd.admin("faults", {"error_rate": 1.0})
    assert await dd.admin("reset", {}) == {"reset": True}
    stats = await dd.admin("stats")
    assert stats["contacts"] == 0
    assert (await dd.api.get(CONTACT)).status_code == 404


async def test_stats_count_calls_per_tier_and_refusals() -> None:
    async with sandbox(SandboxConfig(tier_budgets={"low": 1, "medium": 1, "high": 5})) as dd:
        await dd.api.get(CONTACT)
        await dd.api.get(CONTACT)
        await dd.api.get("/v2/account-info")
        stats = await dd.admin("stats")
    assert stats["calls"] == {"medium": 2, "high": 1}
    assert stats["rate_limited"] == 1
