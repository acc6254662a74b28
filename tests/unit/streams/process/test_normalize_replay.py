"""The normalize agent on replayed raw records: what the order facts say now is published again,
worked out afresh; nothing is kept, and consent is never replayed."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from sandbox.commerce.simulator.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
)
from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.consent import ConsentChanged
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.received import received_at
from schemas.contract.refunds import RefundRecorded
from schemas.contract.replay import REPLAY_HEADER
from schemas.contract.topics import RAW
from streams.process.normalize import Normalizer, NormalizeRecords
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic

RUN = b"replay-20260301T090000Z-0123abcd"
REPLAYED = [(REPLAY_HEADER, RUN)]


class Agent:
    """The normalize agent's per-record step over recorded topics and an in-memory table."""

    def __init__(self) -> None:
        self.topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
        self.facts: dict[bytes, bytes] = {}
        self.step = NormalizeRecords(
            Normalizer(self.facts),
            self.topics,
            Incidents(self.topics.deadletter, self.topics.exceptions),
            Metrics(),
        )
        self._offset = 0

    async def put(
        self, event: dict[str, Any], *, replay: bool = False, received: float | None = None
    ) -> None:
        value = orjson.dumps(event)
        key = raw_key(CloudEvent.model_validate_json(value)).encode()
        headers = REPLAYED if replay else None
        record = consumed(
            RAW, value, key=key, offset=self._offset, headers=headers, timestamp=received
        )
        await self.step.one(record)
        self._offset += 1

    def topic(self, name: str) -> RecordingTopic:
        topic: RecordingTopic = getattr(self.topics, name)
        return topic

    def forget_sends(self) -> None:
        for field in fields(TopicSet):
            topic = self.topic(field.name)
            topic.sent.clear()
            topic.headers.clear()

    def orders(self) -> list[OrderUpdated]:
        return [OrderUpdated.model_validate_json(v) for _, v in self.topic("orders").sent]

    def refunds(self) -> list[RefundRecorded]:
        return [RefundRecorded.model_validate_json(v) for _, v in self.topic("refunds").sent]

    def consent(self) -> list[ConsentChanged]:
        observed = self.topic("consent_observed").sent
        return [ConsentChanged.model_validate_json(v) for _, v in observed]

    def sent(self) -> int:
        names = ("orders", "customers", "refunds", "consent_observed", "carts")
        return sum(len(self.topic(name).sent) for name in names)


def refunded_order() -> list[dict[str, Any]]:
    """Placed, invoiced, shipped, refunded in two credit memos (the store's own events)."""
    store = Store(seed=5)
    guest = store.guest("ada@example.com", "Ada", "Lovelace")
    order = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(order)
    store.clock.advance(60)
    store.ship(order)
    store.clock.advance(60)
    store.refund(order, {"24-MB01": 1})
    store.clock.advance(60)
    store.refund(order)
    return [e for e in store.events if e["type"] in (ORDER_SAVED, SHIPMENT_SAVED, CREDITMEMO_SAVED)]


def first_of(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(e for e in events if e["type"] == event_type)


async def live(events: list[dict[str, Any]]) -> Agent:
    agent = Agent()
    for event in events:
        await agent.put(event)
    return agent


async def test_a_replayed_order_record_restates_the_order_as_it_stands_and_every_refund() -> None:
    # Even the first, long superseded snapshot: a replay says what the facts say now.
    history = refunded_order()
    agent = await live(history)
    current = agent.orders()[-1]
    refunds = agent.refunds()
    facts = dict(agent.facts)
    agent.forget_sends()

    await agent.put(first_of(history, ORDER_SAVED), replay=True)

    assert agent.orders() == [current]
    assert current.state == "closed" and current.fulfilled
    assert agent.refunds() == refunds and len(refunds) == 2
    assert agent.facts == facts  # a replay is no news: the table is as it was


async def test_a_replayed_shipment_or_credit_memo_restates_its_whole_order() -> None:
    history = refunded_order()
    for kind in (SHIPMENT_SAVED, CREDITMEMO_SAVED):
        agent = await live(history)
        current, refunds, facts = agent.orders()[-1], agent.refunds(), dict(agent.facts)
        agent.forget_sends()

        await agent.put(first_of(history, kind), replay=True)

        assert (agent.orders(), agent.refunds()) == ([current], refunds)
        assert agent.facts == facts


async def test_replaying_the_same_record_twice_sends_the_same_upserts_twice() -> None:
    history = refunded_order()
    agent = await live(history)
    agent.forget_sends()

    await agent.put(history[-1], replay=True)
    first = list(agent.topic("orders").sent), list(agent.topic("refunds").sent)
    agent.forget_sends()
    await agent.put(history[-1], replay=True)

    assert (agent.topic("orders").sent, agent.topic("refunds").sent) == first


async def test_an_order_never_seen_is_folded_as_news_when_replayed() -> None:
    # The order facts table lost it (or it came before the table existed): the replayed record
    # is all there is, and it is kept.
    history = refunded_order()
    agent = Agent()

    await agent.put(first_of(history, ORDER_SAVED), replay=True)

    [order] = agent.orders()
    assert order.state == "new"
    assert agent.facts  # kept, like any news


async def test_a_shipment_whose_order_is_unknown_is_kept_for_when_the_order_comes() -> None:
    history = refunded_order()
    agent = Agent()

    await agent.put(first_of(history, SHIPMENT_SAVED), replay=True)
    assert agent.sent() == 0
    await agent.put(history[-1])

    assert agent.orders()[-1].fulfilled


async def test_a_replayed_newsletter_subscription_changes_no_consent() -> None:
    # The live stream carried every consent change when it happened; a replay of an old
    # subscribe must not undo an unsubscribe that came after it.
    store = Store(seed=3)
    [subscribed] = store.subscribe("ada@example.com", 1)
    assert subscribed["type"] == SUBSCRIBER_SAVED
    agent = Agent()

    await agent.put(subscribed, replay=True)

    assert agent.consent() == []
    assert agent.sent() == 0
    assert agent.topic("deadletter").sent == []


async def test_a_replayed_customer_save_restates_the_customer_but_not_its_consent() -> None:
    # Some setups send `extension_attributes.is_subscribed` with every customer save.
    store = Store(seed=3)
    store.register("ada@example.com", "Ada", "Lovelace")
    saves = [e for e in store.events if e["type"] == CUSTOMER_SAVED]
    for save in saves:
        save["data"]["value"]["extension_attributes"] = {"is_subscribed": True}
    agent = await live(saves)
    assert agent.consent(), "the live save reported the subscription"
    agent.forget_sends()

    for save in saves:
        await agent.put(save, replay=True)

    customers = [CustomerUpdated.model_validate_json(v) for _, v in agent.topic("customers").sent]
    assert [c.email for c in customers] == ["ada@example.com"] * len(saves)
    assert agent.consent() == []


async def test_what_a_replayed_record_stands_for_is_sent_with_the_replay_header() -> None:
    # The join downstream tells a replay from news by this header alone.
    history = refunded_order()
    agent = await live(history)
    assert set(agent.topic("orders").headers) == {None}  # news carries none
    agent.forget_sends()

    await agent.put(history[-1], replay=True)

    sent_headers = agent.topic("orders").headers + agent.topic("refunds").headers
    assert len(sent_headers) == 3
    assert all(headers == [(REPLAY_HEADER, RUN)] for headers in sent_headers)


async def test_news_carries_its_receipt_time_on_and_a_replay_does_not() -> None:
    # The sink times the path from the webhook to Dotdigital by it; a replay's would mean nothing.
    history = refunded_order()
    agent = Agent()

    await agent.put(history[0], received=1_767_000_000.5)
    await agent.put(history[0], replay=True, received=1_767_000_000.5)

    news, replayed = agent.topic("orders").headers
    assert received_at(news) == 1_767_000_000.5
    assert received_at(replayed) is None
