"""The join on replayed normalized events: what the tables hold is written again with today's
mapping, enrolments stay once each, old saves bring nothing old back, consent is never replayed."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from sandbox.commerce.simulator.events import CUSTOMER_SAVED
from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.consent import ConsentChanged, ConsentSource, ConsentStatus
from schemas.contract.normalized import CustomerUpdated, NormalizedEvent, OrderUpdated
from schemas.contract.replay import REPLAY_HEADER
from schemas.contract.topics import ORDERS
from schemas.dotdigital.commands import ContactWrite, EnrolmentWrite, InsightWrite, WriteCommand
from streams.process.join import JoinRecords, handlers
from streams.process.join_output import JoinOutput
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic

PROGRAMS = {"order_fulfilled": 101, "first_order": 102}
EMAIL = "ada@example.com"


def normalized(events: list[dict[str, Any]]) -> list[NormalizedEvent]:
    """The store's raw events as the normalize agent publishes them (carts aside)."""
    normalizer = Normalizer({})
    out: list[NormalizedEvent] = []
    for event in events:
        envelope = CloudEvent.model_validate_json(orjson.dumps(event))
        if envelope.type in (CUSTOMER_SAVED,) or "sales_order" in envelope.type:
            out += [
                e
                for e in normalizer.apply(raw_key(envelope).encode(), envelope)
                if isinstance(e, OrderUpdated | CustomerUpdated)
            ]
    return out


def fulfilled_order() -> list[OrderUpdated]:
    """A guest's order as it went by: placed, invoiced, shipped (and so complete)."""
    store = Store(seed=5)
    guest = store.guest(EMAIL, "Ada", "Lovelace")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.ship(order)
    return [e for e in normalized(store.events) if isinstance(e, OrderUpdated)]


def renamed_customer() -> list[CustomerUpdated]:
    """A customer saved as Ada Lovelace, then renamed Augusta King."""
    store = Store(seed=5)
    customer = store.register(EMAIL, "Ada", "Lovelace")
    store.clock.advance(60)
    store.save_customer(customer, firstname="Augusta", lastname="King")
    return [e for e in normalized(store.events) if isinstance(e, CustomerUpdated)]


def joined(
    orders: list[OrderUpdated], **settings: Any
) -> tuple[Joiner, dict[bytes, bytes], dict[bytes, bytes]]:
    contacts: dict[bytes, bytes] = {}
    order_table: dict[bytes, bytes] = {}
    joiner = Joiner(contacts, order_table, programs=PROGRAMS, **settings)
    for order in orders:
        joiner.on_order(order)
    return joiner, contacts, order_table


def commands(out: JoinOutput) -> list[Any]:
    return [write.command for write in out.writes]


def of(out: JoinOutput, kind: type[Any]) -> list[Any]:
    return [command for command in commands(out) if isinstance(command, kind)]


def test_a_replayed_order_the_table_holds_is_written_again_though_nothing_changed() -> None:
    # What was sent may have been wrong (a bad deploy): a replay sends it again, as upserts.
    history = fulfilled_order()
    joiner, _, _ = joined(history)
    assert joiner.on_order(history[-1]).writes == []  # news of it: nothing to send

    out = joiner.on_order(history[-1], replay=True)

    [contact] = of(out, ContactWrite)
    [record] = of(out, InsightWrite)
    assert contact.email == EMAIL
    assert contact.data_fields["FIRSTNAME"] == "Ada"
    assert (record.collection, record.record.key) == ("Orders", history[-1].increment_id)
    assert record.record.json_["orderState"] == "complete"


def test_a_replay_never_enrols_an_order_again() -> None:
    history = fulfilled_order()
    contacts: dict[bytes, bytes] = {}
    joiner = Joiner(contacts, {}, programs=PROGRAMS)
    enrolled = [e for order in history for e in of(joiner.on_order(order), EnrolmentWrite)]
    assert sorted(e.program_id for e in enrolled) == [101, 102]

    replayed = [of(joiner.on_order(order, replay=True), EnrolmentWrite) for order in history]
    replayed += [of(joiner.on_order(history[-1], replay=True), EnrolmentWrite)]

    assert replayed == [[]] * (len(history) + 1)


def test_an_older_replayed_snapshot_restates_the_newer_one_the_table_holds() -> None:
    history = fulfilled_order()
    joiner, _, _ = joined(history)

    out = joiner.on_order(history[0], replay=True)

    [record] = of(out, InsightWrite)
    assert record.record.json_["orderState"] == "complete"
    assert of(out, EnrolmentWrite) == []


def test_a_replay_writes_today_s_data_field_names() -> None:
    # Drill 2's repair: the account's fields were renamed, and the fix is in the settings.
    history = fulfilled_order()
    _, contacts, order_table = joined(history)
    fixed = Joiner(
        contacts, order_table, programs=PROGRAMS, data_fields={"FIRSTNAME": "FIRST_NAME"}
    )

    [contact] = of(fixed.on_order(history[-1], replay=True), ContactWrite)

    assert contact.data_fields["FIRST_NAME"] == "Ada"
    assert "FIRSTNAME" not in contact.data_fields
    assert contact.data_fields["LASTNAME"] == "Lovelace"


def test_a_restated_order_worked_out_afresh_corrects_the_contact_s_totals_too() -> None:
    # A bad deploy published the order with a wrong total; normalize restates it corrected (no
    # newer than what the table holds), and the contact's lifetime value must follow the
    # record, not keep the wrong total.
    history = fulfilled_order()
    right = history[-1]
    wrong = right.model_copy(update={"grand_total": right.grand_total * 10})
    joiner, _, _ = joined([*history[:-1], wrong])

    out = joiner.on_order(right, replay=True)

    [contact] = of(out, ContactWrite)
    [record] = of(out, InsightWrite)
    assert record.record.json_["orderTotal"] == float(right.grand_total)
    assert contact.data_fields["LIFETIME_VALUE"] == float(right.grand_total)
    again = of(joiner.on_order(right, replay=True), ContactWrite)
    assert again[0].data_fields == contact.data_fields


def test_a_replayed_snapshot_newer_than_the_table_is_folded_as_news() -> None:
    # The worker missed it (lost offsets): the replay is the first the join hears of it.
    history = fulfilled_order()
    joiner, _, order_table = joined(history[:1])

    out = joiner.on_order(history[-1], replay=True)

    assert sorted(e.program_id for e in of(out, EnrolmentWrite)) == [101, 102]
    [record] = of(out, InsightWrite)
    assert record.record.json_["orderState"] == "complete"
    assert joiner.on_order(history[-1]).writes == []  # the table now holds it
    assert order_table


def test_a_replayed_old_customer_save_does_not_bring_back_old_names() -> None:
    saves = renamed_customer()
    contacts: dict[bytes, bytes] = {}
    joiner = Joiner(contacts, {})
    for save in saves:
        joiner.on_customer(save, save.email)

    out = joiner.on_customer(saves[0], saves[0].email, replay=True)

    [contact] = of(out, ContactWrite)
    assert (contact.data_fields["FIRSTNAME"], contact.data_fields["LASTNAME"]) == (
        "Augusta",
        "King",
    )


def test_a_replayed_customer_save_of_a_contact_never_held_is_folded() -> None:
    saves = renamed_customer()
    contacts: dict[bytes, bytes] = {}
    joiner = Joiner(contacts, {})

    out = joiner.on_customer(saves[0], saves[0].email, replay=True)

    [contact] = of(out, ContactWrite)
    assert contact.data_fields["FIRSTNAME"] == "Ada"
    assert EMAIL.encode() in contacts


def unsubscribe(at: datetime) -> ConsentChanged:
    return ConsentChanged(
        email=EMAIL,
        status=ConsentStatus.UNSUBSCRIBED,
        source=ConsentSource.COMMERCE,
        reason="newsletter status 3",
        occurred_at=at,
        event_id="evt-unsubscribe",
    )


def test_a_replayed_consent_report_changes_nothing() -> None:
    # The live stream carried every consent change; a replay must never create one.
    history = fulfilled_order()
    joiner, contacts, _ = joined(history)
    before = dict(contacts)

    out = joiner.on_consent(unsubscribe(datetime(2030, 1, 1, tzinfo=UTC)), replay=True)

    assert (out.writes, out.forwards, out.notices) == ([], [], [])
    assert contacts == before
    assert joiner.consent_of(EMAIL) is None


class Join:
    """The join's per-record step over in-memory tables and recorded topics."""

    def __init__(self) -> None:
        self.topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
        self.joiner = Joiner({}, {}, programs=PROGRAMS)
        self.metrics = Metrics()
        self.records = JoinRecords(
            self.joiner,
            self.topics,
            Incidents(self.topics.deadletter, self.topics.exceptions),
            self.metrics,
        )
        self.dispatch = handlers(self.joiner)
        self._offset = 0

    async def put(self, event: OrderUpdated, headers: list[tuple[str, bytes]] | None) -> None:
        value = event.model_dump_json(by_alias=True).encode()
        record = consumed(ORDERS, value, key=EMAIL.encode(), offset=self._offset, headers=headers)
        await self.records.one(record, self.dispatch)
        self._offset += 1

    def writes(self) -> list[tuple[WriteCommand, Any]]:
        sent = []
        for topic in (self.topics.writes, self.topics.writes_realtime):
            assert isinstance(topic, RecordingTopic)
            sent += [
                (WriteCommand.model_validate_json(value), headers)
                for (_, value), headers in zip(topic.sent, topic.headers, strict=True)
            ]
        return sent

    def forget(self) -> None:
        for topic in (self.topics.writes, self.topics.writes_realtime):
            assert isinstance(topic, RecordingTopic)
            topic.sent.clear()
            topic.headers.clear()


async def test_a_replayed_record_s_writes_carry_the_replay_header_on_to_the_sink() -> None:
    history = fulfilled_order()
    join = Join()
    for order in history:
        await join.put(order, None)
    assert {headers for _, headers in join.writes()} == {None}
    join.forget()

    await join.put(history[-1], [(REPLAY_HEADER, b"run-1")])

    writes = join.writes()
    assert {type(w.command) for w, _ in writes} == {ContactWrite, InsightWrite}
    assert all(headers == [(REPLAY_HEADER, b"run-1")] for _, headers in writes)


async def test_enrolments_held_back_for_an_opted_out_buyer_count_per_program() -> None:
    join = Join()
    join.joiner.on_consent(unsubscribe(datetime(2026, 1, 1, tzinfo=UTC)))

    for order in fulfilled_order():
        await join.put(order, None)

    # Both post-purchase programs were earned and held back: the early warnings count them.
    assert not [w for w, _ in join.writes() if isinstance(w.command, EnrolmentWrite)]
    assert join.metrics.recent.by_prefix("gate_refusals:") == {"101": 1, "102": 1}


def test_contact_totals_in_a_restated_write_are_those_of_the_orders_the_table_holds() -> None:
    # Two orders; replaying the first restates the contact with both.
    store = Store(seed=5)
    guest = store.guest(EMAIL, "Ada", "Lovelace")
    store.place_order(guest, [store.catalogue.line("24-MB01", 1)])
    store.clock.advance(60)
    store.place_order(guest, [store.catalogue.line("24-WG02", 1)])
    orders = [e for e in normalized(store.events) if isinstance(e, OrderUpdated)]
    joiner, _, _ = joined(orders)

    [contact] = of(joiner.on_order(orders[0], replay=True), ContactWrite)

    assert contact.data_fields["ORDER_COUNT"] == 2
    total = sum((order.grand_total for order in orders), Decimal(0))
    assert contact.data_fields["LIFETIME_VALUE"] == float(total)
    assert contact.data_fields["LAST_ORDER_ID"] == orders[-1].increment_id
