"""`reconcile` over the two sandboxes in this process: the calls it plans and makes, the findings
it reports as exception records, and the plan it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from schemas.dotdigital.bodies import (
    CollectionScope,
    ContactIdentity,
    ContactUpsert,
    InsightImport,
    InsightRecord,
)
from schemas.rules.reconciliation import Expected, expected
from streams.ops.reconciliation.report import ReconcileReport, publish, reconcile
from streams.ops.reconciliation.schedule import Schedule
from streams.runtime.incidents import Incidents
from streams.settings import Settings
from tests.support.commerce import commerce_sandbox, shop
from tests.support.dotdigital import Dotdigital, sandbox

SINCE = datetime(2026, 11, 26, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=1)
LATER = UNTIL + timedelta(days=1)  # long after every change: nothing is unsettled


class Topic:
    """A topic that keeps what is sent to it."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, *, key: bytes, value: bytes) -> None:
        self.sent.append(orjson.loads(value))


@dataclass
class Sides:
    commerce: CommerceClient
    dd: Dotdigital
    wanted: Expected


async def _rest(client: CommerceClient, path: str) -> list[dict[str, Any]]:
    return [item async for item in client.iter_search(path)]


async def _faithful(dd: Dotdigital, wanted: Expected) -> None:
    """Dotdigital as a faithful pipeline leaves it: contacts with their data fields, then the
    Orders and Refunds records."""
    for email, fields in wanted.contacts.items():
        await dd.client.upsert_contact(ContactUpsert(email=email, data_fields=fields))
    for name, records in (("Orders", wanted.orders), ("Refunds", wanted.refunds)):
        batch = [
            InsightRecord(key=key, contact_identity=ContactIdentity(value=doc["email"]), json_=doc)
            for key, doc in records.items()
        ]
        await dd.client.run_insight_import(
            InsightImport(
                collection_name=name,
                collection_scope=CollectionScope.CONTACT,
                collection_type="orders",
                records=batch,
            )
        )


@pytest.fixture
async def sides() -> AsyncIterator[Sides]:
    async with commerce_sandbox(shop()) as commerce, sandbox() as dd:
        orders = await _rest(commerce.client, "/V1/orders")
        memos = await _rest(commerce.client, "/V1/creditmemos")
        wanted = expected(orders, memos)
        await _faithful(dd, wanted)
        dd.client.calls.clear()
        yield Sides(commerce.client, dd, wanted)


async def run(sides: Sides, settings: Settings | None = None) -> ReconcileReport:
    return await reconcile(
        settings or Settings(), sides.commerce, sides.dd.client, since=SINCE, until=UNTIL, now=LATER
    )


async def test_a_faithful_account_has_no_findings_and_the_calls_are_the_plan(sides: Sides) -> None:
    report = await run(sides)
    assert report.clean, report.result.findings
    buyers = len(sides.wanted.contacts)
    assert report.result.contacts == buyers
    # The sandbox's contacts were last changed before the window: the feed shows none of them,
    # so each buyer is looked up once, then their two collections listed.
    assert report.plan.low == 1 and report.plan.medium == 3 * buyers
    assert report.calls == {"low": report.plan.low, "medium": report.plan.medium}
    assert [day.drift for day in report.days] == [0] * len(report.days)


async def test_a_record_under_someone_commerce_never_sold_to_is_extra(sides: Sides) -> None:
    dd = sides.dd
    dd.advance((SINCE - datetime.fromtimestamp(dd.time.wall_clock(), UTC)).total_seconds() + 60)
    stranger = "stranger@example.com"
    fields = {"ORDER_COUNT": 1, "LAST_ORDER_DATE": "2026-11-26T12:00:00Z"}
    await dd.client.upsert_contact(ContactUpsert(email=stranger, data_fields=fields))
    document = {**next(iter(sides.wanted.orders.values())), "id": "999000001", "email": stranger}
    await dd.client.put_insight_record("Orders", "999000001", document, email=stranger)
    dd.client.calls.clear()
    report = await run(sides)
    assert [(f.kind.value, f.what) for f in report.result.findings] == [
        ("extra", "order 999000001")
    ]
    exceptions = Topic()
    await publish(report, Incidents(Topic(), exceptions))
    (record,) = exceptions.sent
    assert record["reason"] == "drift_extra" and record["severity"] == "warning"
    assert "Commerce has no order 999000001" in record["message"]
    assert record["email"] == stranger and stranger not in record["message"]


async def test_a_plan_over_the_cap_reads_no_records(sides: Sides) -> None:
    settings = Settings()
    settings.reconcile.max_calls = 5
    report = await run(sides, settings)
    assert report.refused is not None and "RECONCILE__MAX_CALLS" in report.refused
    assert not report.clean and report.result.findings == []
    assert report.calls == {"low": 1}  # the feed, which the plan needs


async def test_a_missing_order_names_the_replay_that_fixes_it(sides: Sides) -> None:
    number = sorted(sides.wanted.orders)[0]
    email = sides.wanted.emails[number]
    await sides.dd.admin(
        f"contacts/{email}/insight/delete", {"collection": "Orders", "key": number}
    )
    report = await run(sides)
    exceptions = Topic()
    await publish(report, Incidents(Topic(), exceptions))
    assert [(r["reason"], r["subject"]) for r in exceptions.sent] == [
        ("drift_missing", f"order {number}")
    ]
    assert (
        f"Fix: replay order {number}: cartwright replay --id {number}"
        in (exceptions.sent[0]["message"])
    )


async def test_the_scheduled_run_compares_the_lookback_and_keeps_a_summary(sides: Sides) -> None:
    settings = Settings()
    settings.reconcile.lookback = (LATER - SINCE).total_seconds()
    exceptions = Topic()

    async def dotdigital(*, background: bool) -> DotdigitalClient:
        assert background  # it spends the batch lane's budget, never the realtime reserve
        return sides.dd.client

    schedule = Schedule(
        settings, Incidents(Topic(), exceptions), dotdigital, lambda: sides.commerce
    )
    assert schedule.status() is None
    report = await schedule.run_once(now=LATER)
    assert (report.since, report.until) == (SINCE, LATER)
    assert report.clean and exceptions.sent == []
    status = schedule.status()
    assert status is not None and status["findings"] == 0
    assert status["days"] and all(Decimal(d["drift"]) == 0 for d in status["days"])
