"""The journal client against a scripted journal at the transport seam (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from connectors.adobe_io.journal import Drained, JournalClient, JournalPage
from connectors.errors import FatalError, RetriableError, SkippableError

URL = "https://events.example.test/_journal/commerce"
EVENT = {"id": "e-1", "event_code": "com.adobe.commerce.observer.sales_order_save_commit"}


class Journal:
    """Answers every request with the next scripted response and keeps the requests it saw."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def page(*events: object, last: str | None) -> httpx.Response:
    entries = [{"position": f"p-{n}", "event": event} for n, event in enumerate(events)]
    return httpx.Response(200, json={"events": entries, "_page": {"last": last, "count": 1}})


def client(journal: Journal) -> JournalClient:
    return JournalClient(URL, transport=httpx.MockTransport(journal), wall_clock=lambda: 1e9)


async def test_a_page_gives_its_events_and_the_position_after_it() -> None:
    journal = Journal(page(EVENT, "not an object", last="p-9"))

    async with client(journal) as reader:
        read = await reader.read("p-3", 50)

    assert read == JournalPage(events=[EVENT, "not an object"], last="p-9")
    sent = journal.requests[0].url
    assert (sent.host, sent.path, dict(sent.params)) == (
        "events.example.test",
        "/_journal/commerce",
        {"limit": "50", "since": "p-3"},
    )


async def test_the_first_read_sends_no_position() -> None:
    journal = Journal(page(EVENT, last="p-0"))

    async with client(journal) as reader:
        await reader.read(None, 10)

    assert dict(journal.requests[0].url.params) == {"limit": "10"}


async def test_a_drained_journal_says_how_long_to_wait() -> None:
    journal = Journal(httpx.Response(204, headers={"retry-after": "7"}), httpx.Response(204))

    async with client(journal) as reader:
        assert await reader.read("p-1", 10) == Drained(retry_after=7.0)
        assert await reader.read("p-1", 10) == Drained(retry_after=None)


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_fatal_not_retried(status: int) -> None:
    journal = Journal(httpx.Response(status, json={"error_code": "401013", "message": "denied"}))

    async with client(journal) as reader:
        with pytest.raises(FatalError) as raised:
            await reader.read("p-1", 10)

    assert raised.value.status == status
    assert len(journal.requests) == 1


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (httpx.Response(503), RetriableError),
        (httpx.Response(429, headers={"retry-after": "30"}), RetriableError),
        (httpx.ConnectError("refused"), RetriableError),
        (httpx.Response(400, json={"message": "invalid since"}), SkippableError),
        (httpx.Response(200, content=b"{truncated"), RetriableError),
        (httpx.Response(200, json=["not", "a", "page"]), FatalError),
        (httpx.Response(200, json={"events": "nope"}), FatalError),
    ],
    ids=["503", "429", "unreachable", "400", "broken-body", "not-an-object", "events-not-a-list"],
)
async def test_other_failures_are_translated_into_connector_errors(
    reply: httpx.Response | Exception, kind: type[Exception]
) -> None:
    async with client(Journal(reply)) as reader:
        with pytest.raises(kind) as raised:
            await reader.read("p-1", 10)

    assert not isinstance(raised.value.__cause__ or raised.value.__context__, httpx.HTTPError)


async def test_a_rate_limit_carries_the_journals_retry_after() -> None:
    journal = Journal(httpx.Response(429, headers={"retry-after": "30"}))

    async with client(journal) as reader:
        with pytest.raises(RetriableError) as raised:
            await reader.read("p-1", 10)

    assert raised.value.retry_after == 30.0
