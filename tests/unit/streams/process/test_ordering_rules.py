"""The per-email join and the fulfilment ordering rules, end to end without Kafka.

Raw CloudEvents from the store simulator go through the normalize and join steps (with plain
dicts as their tables) and the resulting write commands are applied to a model of Dotdigital:
the last write to a contact or record wins, every enrolment counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.commerce.model.customers import Customer
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.carts import CartUpdated
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import IDENTITY
from schemas.dotdigital.commands import ContactWrite, EnrolmentWrite, InsightWrite, WriteCommand
from schemas.rules.contacts import ContactHandover
from streams.process.join_output import JoinOutput
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer, NotUsed
from streams.process.order_writes import Attributes

PROGRAMS = {"order_fulfilled": 101, "first_order": 102}


@dataclass
class Dotdigital:
    """What an account holds after a sequence of writes."""

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    enrolments: list[tuple[int, str]] = field(default_factory=list)

    def apply(self, write: WriteCommand) -> None:
        command = write.command
        if isinstance(command, ContactWrite):
            previous = command.previous_email
            if previous in self.contacts and command.email not in self.contacts:
                # Dotdigital renames the contact; its insight data belongs to it, not its email.
                self.contacts[command.email] = self.contacts.pop(previous)
                for stored in list(self.records):
                    name, owner, number = stored
                    if owner == previous:
                        self.records[(name, command.email, number)] = self.records.pop(stored)
            self.contacts.setdefault(command.email, {}).update(command.data_fields)
        elif isinstance(command, InsightWrite):
            record_key = (command.collection, command.email, command.record.key)
            self.records[record_key] = command.record.json_
        elif isinstance(command, EnrolmentWrite):
            self.enrolments.append((command.program_id, command.email))

    def of(self, collection: str) -> dict[str, dict[str, Any]]:
        return {key: doc for (name, _, key), doc in self.records.items() if name == collection}


def run(events: list[dict[str, Any]], attributes: Attributes | None = None) -> Dotdigital:
    """Normalize, join and write `events` in the order given; `attributes`: SKU → the labels
    its lines carry (the products topic)."""
    normalizer = Normalizer({})
    known = attributes or {}
    joiner = Joiner(
        {}, {}, programs=PROGRAMS, attributes=lambda skus: {s: known[s] for s in skus if s in known}
    )
    dotdigital = Dotdigital()
    for event in events:
        envelope = CloudEvent.model_validate_json(orjson.dumps(event))
        try:
            emitted = normalizer.apply(raw_key(envelope).encode(), envelope)
        except NotUsed:
            continue  # products, subscribers: not part of these rules
        # Carts are another agent's (streams/process/carts.py), not part of these rules.
        kept = [n for n in emitted if not isinstance(n, CartUpdated)]
        pending: list[tuple[str, Any]] = [("normalized", n) for n in kept]
        while pending:
            kind, item = pending.pop(0)
            out = _join(joiner, kind, item)
            for write in out.writes:
                dotdigital.apply(write)
            pending.extend((forward.topic, forward.event) for forward in out.forwards)
    return dotdigital


def _join(joiner: Joiner, kind: str, item: Any) -> JoinOutput:
    if kind == IDENTITY:
        return joiner.on_handover(item)
    if isinstance(item, OrderUpdated):
        return joiner.on_order(item)
    if isinstance(item, RefundRecorded):
        return joiner.on_refund(item)
    assert isinstance(item, CustomerUpdated)
    out = joiner.on_customer(item, item.email)
    if item.previous_email:  # the same event also reaches the old email's partition
        out += joiner.on_customer(item, item.previous_email)
    return out


def order_history() -> list[dict[str, Any]]:
    """Placed, invoiced, partly shipped, partly refunded, shipped, fully refunded."""
    store = Store(seed=11)
    guest = store.guest("Ada.Lovelace@Example.com", "Ada", "Lovelace")
    lines = [store.catalogue.line("24-MB01", 2), store.catalogue.line("24-WG02", 1)]
    order = store.place_order(guest, lines)
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.ship(order, {"24-MB01": 1})
    store.clock.advance(60)
    store.refund(order, {"24-MB01": 1})
    store.clock.advance(60)
    store.ship(order)
    store.clock.advance(60)
    store.refund(order)
    return [event for event in store.events if _matters(event)]


def _matters(event: dict[str, Any]) -> bool:
    return event["type"].rsplit(".", 1)[-1] in {
        "sales_order_save_commit_after",
        "sales_order_shipment_save_commit_after",
        "sales_order_creditmemo_save_commit_after",
    }


HISTORY = order_history()
IN_ORDER = run(HISTORY)


def test_the_history_ends_closed_with_two_refunds_and_one_enrolment_of_each_kind() -> None:
    (order,) = IN_ORDER.of("Orders").values()
    refunds = IN_ORDER.of("Refunds")

    assert order["orderState"] == "closed"
    assert order["netTotal"] == 0.0
    assert order["refundedAmount"] == order["orderTotal"]
    assert len(refunds) == 2
    assert sum(refund["amount"] for refund in refunds.values()) == order["orderTotal"]
    assert sorted(IN_ORDER.enrolments) == [
        (101, "ada.lovelace@example.com"),
        (102, "ada.lovelace@example.com"),
    ]
    assert IN_ORDER.contacts["ada.lovelace@example.com"]["LIFETIME_VALUE"] == 0.0


@settings(max_examples=150, deadline=None)
@given(st.permutations(HISTORY), st.lists(st.integers(0, len(HISTORY) - 1), max_size=6))
def test_any_arrival_order_with_duplicates_ends_in_the_same_dotdigital_state(
    permuted: list[dict[str, Any]], repeats: list[int]
) -> None:
    delivered = permuted + [permuted[index] for index in repeats]

    state = run(delivered)

    assert state.contacts == IN_ORDER.contacts
    assert state.records == IN_ORDER.records
    assert sorted(state.enrolments) == sorted(IN_ORDER.enrolments)


def test_guest_and_registered_orders_with_one_email_make_one_contact() -> None:
    store = Store(seed=5)
    guest = store.guest("  Grace.Hopper@Example.COM ", "Grace", "Hopper")
    first = store.place_order(guest, [store.catalogue.line("24-UG06", 2)])
    store.clock.advance(3600)
    customer = store.register("grace.hopper@example.com", "Grace", "Hopper")
    second = store.place_order(customer, [store.catalogue.line("24-WG02", 1)])

    state = run(list(store.events))

    assert list(state.contacts) == ["grace.hopper@example.com"]
    fields = state.contacts["grace.hopper@example.com"]
    assert fields["ORDER_COUNT"] == 2
    assert fields["CUSTOMER_TYPE"] == "registered"
    expected = float(first.grand_total + second.grand_total)
    assert fields["LIFETIME_VALUE"] == expected
    assert sorted(state.of("Orders")) == sorted([first.increment_id, second.increment_id])


def test_a_cancelled_order_never_starts_a_post_purchase_journey() -> None:
    store = Store(seed=3)
    guest = store.guest("cancel@example.com", "Can", "Cel")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 1)])
    store.clock.advance(60)
    store.cancel(order)

    state = run(list(store.events))

    (record,) = state.of("Orders").values()
    assert record["orderState"] == "canceled"
    assert state.enrolments == []


def test_shipments_before_invoices_enrol_only_once_fulfilment_is_complete() -> None:
    store = Store(seed=4)
    guest = store.guest("early@example.com", "Early", "Ship")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.ship(order, {"24-MB01": 1})
    partial = [e for e in store.events if _matters(e)]
    store.clock.advance(60)
    store.ship(order)
    everything = [e for e in store.events if _matters(e)]
    shipments_first = sorted(partial, key=lambda e: "shipment" not in e["type"])

    assert run(shipments_first).enrolments == []
    assert run(shipments_first + everything[len(partial) :]).enrolments == [
        (101, "early@example.com"),
        (102, "early@example.com"),
    ]


def test_a_partial_refund_lowers_net_total_and_lifetime_value() -> None:
    store = Store(seed=8)
    guest = store.guest("partial@example.com", "Part", "Ial")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.refund(order, {"24-MB01": 1})

    state = run(list(store.events))

    (record,) = state.of("Orders").values()
    (refund,) = state.of("Refunds").values()
    assert Decimal(str(record["netTotal"])) == Decimal(str(record["orderTotal"])) - Decimal(
        str(refund["amount"])
    )
    assert state.contacts["partial@example.com"]["LIFETIME_VALUE"] == record["netTotal"]


def email_changed_after_an_order() -> tuple[Store, Customer, Order]:
    """A customer's order of 24-UG06, then their email changed to New.Address@Example.com."""
    store = Store(seed=9)
    customer = store.register("old.address@example.com", "Alan", "Turing")
    first = store.place_order(customer, [store.catalogue.line("24-UG06", 1)])
    store.clock.advance(60)
    store.change_email(customer, "New.Address@Example.com")
    return store, customer, first


def test_an_email_change_moves_the_contact_and_its_history_without_a_second_contact() -> None:
    store, customer, first = email_changed_after_an_order()
    store.clock.advance(60)
    second = store.place_order(customer, [store.catalogue.line("24-MB01", 1)])

    state = run(list(store.events))

    assert list(state.contacts) == ["new.address@example.com"]
    fields = state.contacts["new.address@example.com"]
    assert fields["ORDER_COUNT"] == 2
    assert fields["LIFETIME_VALUE"] == float(first.grand_total + second.grand_total)
    records = {key: doc["email"] for (_, owner, key), doc in state.records.items() if owner}
    assert records == {
        first.increment_id: "new.address@example.com",
        second.increment_id: "new.address@example.com",
    }


def test_lines_keep_their_product_attributes_when_an_email_change_rewrites_the_records() -> None:
    store, _, first = email_changed_after_an_order()
    labels = {"24-UG06": {"brand": "Luma", "color": "Blue"}}

    state = run(list(store.events), labels)

    record = state.records[("Orders", "new.address@example.com", first.increment_id)]
    assert record["email"] == "new.address@example.com"
    assert record["products"][0]["product_attributes"] == {"brand": "Luma", "color": "Blue"}


def test_an_order_edit_keeps_the_cancelled_original_and_links_the_new_order() -> None:
    store = Store(seed=12)
    guest = store.guest("edit@example.com", "Ed", "It")
    original = store.place_order(guest, [store.catalogue.line("24-MB01", 1)])
    store.clock.advance(60)
    edited = store.edit(original, [store.catalogue.line("24-MB01", 2)])

    state = run(list(store.events))

    orders = state.of("Orders")
    assert orders[original.increment_id]["orderState"] == "canceled"
    assert orders[edited.increment_id]["originalOrderId"] == original.increment_id
    contact = state.contacts["edit@example.com"]
    assert contact["ORDER_COUNT"] == 1
    assert contact["LIFETIME_VALUE"] == float(edited.grand_total)
    assert state.enrolments == []


def test_cancelling_the_only_order_sets_the_counters_back_to_zero() -> None:
    store = Store(seed=13)
    guest = store.guest("zero@example.com", "Ze", "Ro")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 1)])
    placed = run(list(store.events))
    store.clock.advance(60)
    store.cancel(order)

    state = run(list(store.events))

    assert placed.contacts["zero@example.com"]["ORDER_COUNT"] == 1
    assert state.contacts["zero@example.com"]["ORDER_COUNT"] == 0
    assert state.contacts["zero@example.com"]["LIFETIME_VALUE"] == 0.0


def test_a_late_save_from_before_an_email_change_does_not_bring_the_old_contact_back() -> None:
    store = Store(seed=21)
    customer = store.register("before@example.com", "Bar", "Bara")
    store.place_order(customer, [store.catalogue.line("24-UG06", 1)])
    store.clock.advance(60)
    store.change_email(customer, "after@example.com")
    events = list(store.events)
    registration = events[0]
    late = [*events[1:], registration]

    state = run(late)

    assert list(state.contacts) == ["after@example.com"]


def test_nothing_is_written_for_a_new_address_until_its_history_arrives() -> None:
    joiner = Joiner({}, {}, programs=PROGRAMS)
    store = Store(seed=22)
    customer = store.register("first@example.com", "Fi", "Rst")
    store.change_email(customer, "second@example.com")
    change = CloudEvent.model_validate_json(orjson.dumps(store.events[-1]))
    normalized = Normalizer({}).apply(raw_key(change).encode(), change)
    (customer_event,) = normalized
    assert isinstance(customer_event, CustomerUpdated)
    joiner.on_customer(
        customer_event.model_copy(update={"previous_email": None, "email": "first@example.com"}),
        "first@example.com",
    )

    early = joiner.on_customer(customer_event, "second@example.com")
    (forward,) = joiner.on_customer(customer_event, "first@example.com").forwards
    handover = forward.event
    assert isinstance(handover, ContactHandover)
    writes = joiner.on_handover(handover).writes

    assert early == JoinOutput()
    (rename,) = [w.command for w in writes if isinstance(w.command, ContactWrite)]
    assert (rename.email, rename.previous_email) == ("second@example.com", "first@example.com")
    assert joiner.route("second@example.com") == "first@example.com"


def test_an_order_under_the_new_email_before_the_customer_save_keeps_one_contact() -> None:
    # The order's next save carries the new address, and arrives before the customer save that
    # changed it (they travel on different topics).
    store = Store(seed=11)
    customer = store.register("before@example.com", "Ada", "Lovelace")
    order = store.place_order(customer, [store.catalogue.line("24-UG06", 1)])
    store.clock.advance(60)
    (change, *_) = store.change_email(customer, "after@example.com")
    store.clock.advance(60)
    store.invoice(order)
    events = [event for event in store.events if event is not change] + [change]

    state = run(events)

    assert list(state.contacts) == ["after@example.com"]
    assert state.contacts["after@example.com"]["ORDER_COUNT"] == 1
    assert {owner for (_, owner, _) in state.records} == {"after@example.com"}


def test_a_credit_memo_after_an_email_change_lands_on_the_renamed_contact() -> None:
    store = Store(seed=23)
    customer = store.register("old.address@example.com", "Ada", "Lovelace")
    order = store.place_order(customer, [store.catalogue.line("24-UG06", 1)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.change_email(customer, "new.address@example.com")
    store.clock.advance(60)
    store.refund(order)
    refunds = [e for e in store.events if e["type"].endswith("creditmemo_save_commit_after")]
    assert refunds, "the store made a credit memo"

    state = run(list(store.events))

    assert list(state.contacts) == ["new.address@example.com"]
    owners = {owner for (name, owner, _) in state.records if name == "Refunds"}
    assert owners == {"new.address@example.com"}
    (refund,) = state.of("Refunds").values()
    assert refund["email"] == "new.address@example.com"


def test_a_credit_memo_for_an_address_awaiting_its_history_waits_for_the_rename() -> None:
    joiner = Joiner({}, {}, programs=PROGRAMS)
    store = Store(seed=24)
    customer = store.register("first@example.com", "Fi", "Rst")
    order = store.place_order(customer, [store.catalogue.line("24-UG06", 1)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    (change, *_) = store.change_email(customer, "second@example.com")
    change_at = next(i for i, event in enumerate(store.events) if event is change)
    store.clock.advance(60)
    store.refund(order)
    normalizer = Normalizer({})
    normalized: list[Any] = []
    for event in store.events:
        envelope = CloudEvent.model_validate_json(orjson.dumps(event))
        try:
            emitted = normalizer.apply(raw_key(envelope).encode(), envelope)
        except NotUsed:
            emitted = []
        # Carts are not part of these rules.
        normalized.append([e for e in emitted if not isinstance(e, CartUpdated)])
    for events in normalized[:change_at]:
        for event in events:
            _join(joiner, "normalized", event)
    (customer_event, *_) = normalized[change_at]
    (refund,) = [e for events in normalized for e in events if isinstance(e, RefundRecorded)]
    assert isinstance(customer_event, CustomerUpdated)

    # The new address hears of the change first; the refund then comes forwarded to it.
    early = joiner.on_customer(customer_event, "second@example.com")
    held = joiner.on_refund(refund.model_copy(update={"email": "second@example.com"}))
    (forward,) = joiner.on_customer(customer_event, "first@example.com").forwards
    assert isinstance(forward.event, ContactHandover)
    writes = [w.command for w in joiner.on_handover(forward.event).writes]

    assert early == JoinOutput() and held == JoinOutput()
    rename = next(i for i, w in enumerate(writes) if isinstance(w, ContactWrite))
    (memo,) = [
        (i, w)
        for i, w in enumerate(writes)
        if isinstance(w, InsightWrite) and w.collection == "Refunds"
    ]
    assert memo[0] > rename
    assert memo[1].email == "second@example.com"
    # ...and the old address forwards a later credit memo to the new one.
    (later,) = joiner.on_refund(refund).forwards
    assert isinstance(later.event, RefundRecorded)
    assert (later.key, later.event.email) == ("second@example.com", "second@example.com")
