"""The I/O Events journal: ordered opaque positions, paging with since/limit, 204 when drained."""

from __future__ import annotations

import pytest

from sandbox.commerce.adobe_io.journal import InvalidPosition, Journal
from sandbox.commerce.simulator.store import Store
from tests.support.commerce import commerce_sandbox


def test_positions_are_ordered_and_pages_continue_after_since() -> None:
    journal = Journal()
    positions = [journal.append({"n": n}) for n in range(5)]
    assert positions == sorted(positions) and len(set(positions)) == 5
    first = journal.read(None, 2)
    assert [event["n"] for _, event in first] == [0, 1]
    rest = journal.read(first[-1][0], 10)
    assert [event["n"] for _, event in rest] == [2, 3, 4]
    assert journal.read(rest[-1][0], 10) == []
    with pytest.raises(InvalidPosition):
        journal.read("not-a-position", 1)


def test_retention_drops_the_oldest_and_an_expired_since_starts_at_the_oldest_kept() -> None:
    journal = Journal(retention=3)
    positions = [journal.append({"n": n}) for n in range(5)]
    assert [event["n"] for _, event in journal.read(None, 10)] == [2, 3, 4]
    assert [event["n"] for _, event in journal.read(positions[0], 10)] == [2, 3, 4]
    assert [p for p, _ in journal.read(positions[2], 10)] == positions[3:]


async def test_journal_over_http_pages_then_answers_204_with_retry_after() -> None:
    store = Store(seed=9)
    async with commerce_sandbox(store=store) as commerce:
        customer = store.register("ada@example.com", "Ada", "Lovelace")
        store.place_order(customer, [store.catalogue.line("24-MB01", 1)])
        first = await commerce.anonymous.get("/_journal/commerce", params={"limit": 2})
        body = first.json()
        assert body["_page"]["count"] == 2
        assert [entry["event"] for entry in body["events"]] == store.events[:2]
        second = await commerce.anonymous.get(
            "/_journal/commerce", params={"since": body["_page"]["last"], "limit": 10}
        )
        assert [entry["event"]["eventid"] for entry in second.json()["events"]] == [
            store.events[2]["eventid"]
        ]
        drained = await commerce.anonymous.get(
            "/_journal/commerce", params={"since": second.json()["_page"]["last"]}
        )
        assert drained.status_code == 204 and int(drained.headers["retry-after"]) > 0
        bad = await commerce.anonymous.get("/_journal/commerce", params={"since": "v1.zz"})
        assert bad.status_code == 400
        assert (await commerce.anonymous.get("/_journal/elsewhere")).status_code == 404


async def test_storefront_events_have_their_own_journal() -> None:
    store = Store(seed=9)
    async with commerce_sandbox(store=store) as commerce:
        store.view_product("24-MB01")
        body = (await commerce.anonymous.get("/_journal/storefront")).json()
        assert body["events"][0]["event"]["event"] == "product-page-view"
