"""A replay's dry run without a broker: the agents' own folds over the selected records, against
the tables as the live run left them, counted; nothing is written."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.carts import CartUpdated
from schemas.contract.consent import ConsentChanged
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import ORDERS, RAW
from schemas.replay.selection import Picked, Selection, last_of_each, pick
from schemas.replay.window import Window
from streams.cli.dry_run import print_dry_run, simulate
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer
from streams.settings import ProgramsSettings, Settings

SETTINGS = Settings(programs=ProgramsSettings(order_fulfilled=101, first_order=102))
EMAIL = "ada.lovelace@example.com"
Tables = dict[str, dict[bytes, bytes]]


def store_traffic(*, refunds: bool = False) -> list[dict[str, Any]]:
    """A guest's order, fulfilled (and, if asked, refunded in two credit memos)."""
    store = Store(seed=7)
    guest = store.guest("Ada.Lovelace@Example.com", "Ada", "Lovelace")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.ship(order)
    if refunds:
        store.clock.advance(60)
        store.refund(order, {"24-MB01": 1})
        store.clock.advance(60)
        store.refund(order)
    return list(store.events)


def raw_records(events: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    records = []
    for event in events:
        value = orjson.dumps(event)
        records.append((raw_key(CloudEvent.model_validate_json(value)).encode(), value))
    return records


def live(records: list[tuple[bytes, bytes]]) -> Tables:
    """The tables as the live agents left them after `records` (what their changelogs hold)."""
    tables: Tables = {"order_facts": {}, "contacts": {}, "orders": {}}
    normalizer = Normalizer(tables["order_facts"])
    joiner = Joiner(tables["contacts"], tables["orders"], programs=SETTINGS.programs.by_trigger())
    for key, value in records:
        envelope = CloudEvent.model_validate_json(value)
        for event in normalizer.apply(key, envelope):
            if isinstance(event, OrderUpdated):
                joiner.on_order(event)
            elif isinstance(event, RefundRecorded):
                joiner.on_refund(event)
            elif isinstance(event, CustomerUpdated):
                joiner.on_customer(event, event.email)
            else:
                assert isinstance(event, CartUpdated | ConsentChanged)
    return tables


def selected(records: list[tuple[bytes, bytes]], selection: Selection) -> list[Picked]:
    found = [pick(selection, 0, n, key, value, []) for n, (key, value) in enumerate(records)]
    return last_of_each(RAW, [p for p in found if p is not None])


def copy(tables: Tables) -> Tables:
    return {name: dict(table) for name, table in tables.items()}


async def test_a_raw_replay_of_a_known_order_would_write_its_contact_and_record_once() -> None:
    records = raw_records(store_traffic())
    tables = live(records)
    picked = selected(records, Selection(window=Window(), types=frozenset({"order"})))

    report = await simulate(SETTINGS, RAW, picked, copy(tables))

    assert dict(report.writes) == {"contact": 1, "Orders record": 1}  # enrolled once already
    assert report.events == {"order": 1}
    assert report.emails == {EMAIL}
    assert len(report.orders) == 1
    assert (report.problems, report.unreadable) == ({}, 0)


async def test_a_raw_replay_of_a_refunded_order_counts_every_refund_record() -> None:
    records = raw_records(store_traffic(refunds=True))
    tables = live(records)
    picked = selected(records, Selection(window=Window()))

    report = await simulate(SETTINGS, RAW, picked, copy(tables))

    assert report.writes["Refunds record"] == 2
    assert report.writes["Orders record"] == 1
    assert "enrolment" not in report.writes
    assert len(report.orders) == 1


async def test_the_dry_run_writes_nothing_into_the_tables_it_was_given_a_copy_of() -> None:
    records = raw_records(store_traffic())
    tables = live(records)
    before = copy(tables)

    await simulate(SETTINGS, RAW, selected(records, Selection(window=Window())), copy(tables))

    assert tables == before


async def test_the_sample_names_contacts_by_masked_email() -> None:
    records = raw_records(store_traffic())
    report = await simulate(
        SETTINGS, RAW, selected(records, Selection(window=Window())), live(records)
    )

    assert report.sample
    assert "contact: contact a***@example.com" in report.sample
    assert not any(EMAIL in line for line in report.sample)


async def test_the_printed_dry_run_shows_the_counts_and_no_email(
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = raw_records(store_traffic(refunds=True))
    selection = Selection(window=Window())
    picked = selected(records, selection)
    report = await simulate(SETTINGS, RAW, picked, live(records))

    print_dry_run(report, selection, len(picked))

    out = capsys.readouterr().out
    assert f"dry run: {len(picked)} events of {RAW} from the beginning to now" in out
    assert "nothing was written" in out
    would = out.split("would be written", 1)[1]
    for kind, count in report.writes.items():
        assert any(kind in line and f" {count} " in line for line in would.splitlines()), kind
    assert EMAIL not in out


async def test_an_order_record_with_no_entity_is_counted_by_its_key() -> None:
    # A hostile envelope in the window: dead-lettered by the dry run's normalize, still counted.
    value = orjson.dumps(
        {
            "id": "evt-1",
            "eventid": "evt-1",
            "type": "com.adobe.commerce.observer.sales_order_save_commit_after",
            "time": "2026-03-01T10:00:00Z",
            "data": "not an entity",
        }
    )
    picked = selected([(b"order:12", value)], Selection(window=Window()))

    report = await simulate(SETTINGS, RAW, picked, copy(live([])))

    assert report.orders == {"order:12"}
    assert sum(report.problems.values()) == 1
    assert not report.writes


async def test_a_replay_of_the_orders_topic_counts_each_order_once_by_its_number() -> None:
    records = raw_records(store_traffic())
    normalizer = Normalizer({})
    published = [
        event
        for key, value in records
        for event in normalizer.apply(key, CloudEvent.model_validate_json(value))
        if isinstance(event, OrderUpdated)
    ]
    on_topic = [
        (EMAIL.encode(), event.model_dump_json(by_alias=True).encode()) for event in published
    ]
    selection = Selection(topic=ORDERS, window=Window())
    found = [pick(selection, 0, n, key, value, []) for n, (key, value) in enumerate(on_topic)]
    picked = last_of_each(ORDERS, [p for p in found if p is not None])

    report = await simulate(SETTINGS, ORDERS, picked, live(records))

    assert report.events == {"order": len(published)}
    assert report.orders == {published[0].increment_id}
    assert report.writes["Orders record"] == len(published)
    assert "enrolment" not in report.writes
