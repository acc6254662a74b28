"""The normalize agent on quote saves: published on `commerce.carts.v1` by email or quote, and a
quote it cannot read dead-lettered with a named reason."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.carts import CartUpdated
from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.topics import RAW
from streams.process.normalize import Normalizer, NormalizeRecords
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic


class Agent:
    def __init__(self) -> None:
        self.topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
        self.metrics = Metrics()
        incidents = Incidents(self.topics.deadletter, self.topics.exceptions)
        self.step = NormalizeRecords(Normalizer({}), self.topics, incidents, self.metrics)

    async def put(self, event: dict[str, Any]) -> None:
        value = orjson.dumps(event)
        key = raw_key(CloudEvent.model_validate_json(value)).encode()
        await self.step.one(consumed(RAW, value, key=key))

    def sent(self, name: str) -> list[tuple[Any, bytes]]:
        topic: RecordingTopic = getattr(self.topics, name)
        return list(topic.sent)


async def test_quote_saves_go_to_the_carts_topic_under_quote_then_email() -> None:
    store = Store(seed=9)
    guest = store.guest("Gus@Example.com", "Gus", "Guest")
    quote = store.open_cart(guest)
    (added,) = store.add_to_cart(quote, store.catalogue.line("24-MB01"), guest)
    (paying,) = store.reach_payment(quote, guest)
    agent = Agent()

    await agent.put(added)
    await agent.put(paying)

    keys = [key for key, _ in agent.sent("carts")]
    assert keys == [f"quote:{quote.entity_id}".encode(), b"gus@example.com"]
    cart = CartUpdated.model_validate_json(agent.sent("carts")[1][1])
    assert (cart.email, cart.quote_id, len(cart.items)) == (
        "gus@example.com",
        str(quote.entity_id),
        1,
    )
    assert agent.metrics.snapshot().get("normalize.not_used", 0) == 0


async def test_an_unreadable_quote_is_dead_lettered_with_its_reason() -> None:
    store = Store(seed=10)
    customer = store.register("q@example.com", "Q", "Q")
    quote = store.open_cart(customer)
    (event,) = store.add_to_cart(quote, store.catalogue.line("24-MB01"), customer)
    broken = {**event, "data": {**event["data"], "value": {**event["data"]["value"]}}}
    broken["data"]["value"]["items"] = [{"sku": "24-MB01", "qty": "many"}]
    giant = {**event, "data": {**event["data"], "value": {**event["data"]["value"]}}}
    giant["data"]["value"]["grand_total"] = "1e999999999"
    agent = Agent()

    await agent.put(broken)
    await agent.put(giant)

    letters = [DeadLetter.model_validate_json(value) for _, value in agent.sent("deadletter")]
    assert [letter.reason for letter in letters] == [
        Reason.INVALID_PAYLOAD,
        Reason.NUMBER_OUT_OF_RANGE,
    ]
    assert agent.sent("carts") == []
