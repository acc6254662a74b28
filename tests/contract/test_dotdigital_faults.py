"""Server faults over HTTP: every 5xx body, dropped connections and slow answers are retriable."""

from __future__ import annotations

import httpx
import pytest

from connectors.errors import ConnectorError, RetriableError
from sandbox.dotdigital.account.faults import HTML_ERROR_PAGE
from tests.support.dotdigital import Dotdigital

ADA = "ada@example.com"


def assert_no_httpx_in(error: BaseException) -> None:
    """Nothing above the connector may see httpx: not raised, not chained."""
    chain = [error, error.__cause__, error.__context__]
    assert not any(isinstance(link, httpx.HTTPError) for link in chain), chain


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize(
    ("body", "description"),
    [
        ("empty", "server error"),
        ("html", f"non-JSON body ({len(HTML_ERROR_PAGE)} bytes of HTML)"),
        ("json", "An error has occurred."),
    ],
)
async def test_a_5xx_of_any_body_is_retriable(
    dd: Dotdigital, status: int, body: str, description: str
) -> None:
    await dd.faults(error_rate=1.0, error_status=status, error_body=body)
    with pytest.raises(ConnectorError) as raised:
        await dd.client.get_contact(ADA)
    assert type(raised.value) is RetriableError
    assert (raised.value.status, raised.value.description) == (status, description)
    assert_no_httpx_in(raised.value)


async def test_a_dropped_connection_is_retriable(dd: Dotdigital) -> None:
    await dd.faults(drop_connection_rate=1.0)
    with pytest.raises(ConnectorError) as raised:
        await dd.client.unsubscribe(ADA)
    assert type(raised.value) is RetriableError
    assert "RemoteProtocolError" in str(raised.value)
    assert ADA not in str(raised.value)
    assert_no_httpx_in(raised.value)


async def test_an_answer_slower_than_the_timeout_is_retriable(dd: Dotdigital) -> None:
    impatient = dd.new_client(timeout=0.2)
    await dd.faults(delay_seconds=1)
    with pytest.raises(ConnectorError) as raised:
        await impatient.account_info()
    assert type(raised.value) is RetriableError
    assert "ReadTimeout" in str(raised.value)
    assert_no_httpx_in(raised.value)


async def test_the_client_works_again_once_faults_clear(dd: Dotdigital) -> None:
    await dd.faults(error_rate=1.0, error_status=503)
    with pytest.raises(RetriableError):
        await dd.client.account_info()
    await dd.faults()
    assert (await dd.client.account_info())["id"] == dd.config.account_id
