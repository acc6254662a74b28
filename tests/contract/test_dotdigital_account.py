"""Account info, region discovery and credentials: the client against the sandbox over HTTP."""

from __future__ import annotations

import pytest

from connectors.errors import FatalError
from sandbox.dotdigital.account.config import SandboxConfig
from tests.support.dotdigital import Dotdigital, sandbox

EU = "http://r1-api.dotdigital.com/"
NORTH_AMERICA = "http://r2-api.dotdigital.com/"
ON_R2 = SandboxConfig(check_region_host=True, region_host="r2-api.dotdigital.com")


async def test_account_info_lists_the_account_properties(dd: Dotdigital) -> None:
    info = await dd.client.account_info()
    properties = {p["name"]: p["value"] for p in info["properties"]}
    assert info["id"] == dd.config.account_id
    assert properties["MainEmail"] == dd.config.main_email
    assert {"ApiEndpoint", "APILocale", "CurrencyCode", "TimeZoneIana"} <= properties.keys()
    assert {"ApiCallsInLastHour", "ApiCallsRemaining"} <= properties.keys()


async def test_discovery_on_r1_switches_the_client_to_the_account_s_region() -> None:
    async with sandbox(ON_R2, base_url=EU) as dd:
        endpoint = await dd.client.discover_region()
        missing = await dd.client.get_contact("ada@example.com")
    assert endpoint == NORTH_AMERICA
    assert dd.client.base_url == NORTH_AMERICA
    assert missing is None  # answered on r2, past the region check
    assert [(e.host, e.path, e.status) for e in dd.network.exchanges] == [
        ("r1-api.dotdigital.com", "/v2/account-info", 200),
        ("r2-api.dotdigital.com", "/contacts/v3/email/ada@example.com", 404),
    ]


async def test_discovery_from_https_keeps_https() -> None:
    config = ON_R2.model_copy(update={"api_endpoint": "https://r2-api.dotdigital.com/"})
    async with sandbox(config, base_url="https://r1-api.dotdigital.com/") as dd:
        endpoint = await dd.client.discover_region()
        await dd.client.get_contact("ada@example.com")
    assert endpoint == dd.client.base_url == "https://r2-api.dotdigital.com/"
    assert dd.network.exchanges[-1].host == "r2-api.dotdigital.com"


@pytest.mark.parametrize(
    ("advertised", "problem"),
    [
        ("http://r2-api.dotdigital.com/", "downgrade HTTPS to HTTP"),
        ("ftp://r2-api.dotdigital.com/", "not an HTTP URL"),
    ],
)
async def test_discovery_refuses_an_endpoint_it_cannot_trust(advertised: str, problem: str) -> None:
    config = ON_R2.model_copy(update={"api_endpoint": advertised})
    async with sandbox(config, base_url="https://r1-api.dotdigital.com/") as dd:
        with pytest.raises(FatalError, match=problem):
            await dd.client.discover_region()
    assert dd.client.base_url == "https://r1-api.dotdigital.com/"


async def test_calls_to_the_wrong_region_are_fatal() -> None:
    async with sandbox(ON_R2, base_url=EU) as dd:
        with pytest.raises(FatalError) as raised:
            await dd.client.get_contact("ada@example.com")
    assert raised.value.status == 403
    assert raised.value.code == "forbidden"


async def test_v2_calls_to_the_wrong_region_are_fatal_too() -> None:
    async with sandbox(ON_R2, base_url=EU) as dd:
        with pytest.raises(FatalError) as raised:
            await dd.client.unsubscribe("ada@example.com")
    assert raised.value.status == 403
    assert raised.value.code == "ERROR_FORBIDDEN"


async def test_bad_credentials_are_fatal(dd: Dotdigital) -> None:
    intruder = dd.new_client(password="not-the-password")
    with pytest.raises(FatalError) as raised:
        await intruder.discover_region()
    assert raised.value.status == 401
    assert raised.value.description == "Authorization has been denied for this request."
    assert intruder.base_url == EU  # nothing learnt from a refused call
