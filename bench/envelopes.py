"""The pipeline benchmark's traffic: sandbox orders as the webhook stores them, and what comes out.

The orders are guest orders placed in the Commerce sandbox's store model, one distinct email
each, one to three catalogue lines; they go through the webhook's own reading (`read_delivery`)
and its RawPublisher, on a plain producer, so the raw topic holds exactly the keys, bytes and
headers a live delivery leaves there. What the worker produced is read back from the broker:
the distinct items of a topic, each with its first record's timestamp.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.events import ORDER_SAVED
from sandbox.commerce.simulator.ledger import Event
from sandbox.commerce.simulator.store import Store
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.sources.deliveries import Delivery, read_delivery
from streams.sources.raw_publisher import EVENT_ID_HEADER, RawPublisher
from tests.support.accounts import CLIENT_ID

DELIVERY_EVENTS = 100  # events per delivery, as Adobe I/O batches them
ORDER_SPACING = 0.05  # seconds of Commerce time between two orders
# The worker's own Faust producer lingers as long (streams/app.py faust_options).
LINGER_MS = 10


def order_events(orders: int, seed: int) -> list[Event]:
    """`orders` guest orders placed in the sandbox store, each its own email and 1-3 lines; the
    last placed now, the others before it."""
    start = datetime.now(UTC) - timedelta(seconds=orders * ORDER_SPACING)
    store = Store(seed=seed, clock=SimulatedClock(start), client_id=CLIENT_ID, keep_events=False)
    placed: list[Event] = []
    store.listen(lambda event: placed.append(event) if event["type"] == ORDER_SAVED else None)
    chooser = random.Random(seed)  # noqa: S311 - a load's shape, not a secret
    saleable = store.catalogue.saleable()
    for number in range(orders):
        guest = store.guest(f"buyer-{number}@pipeline.example.com", "Bench", f"Buyer{number}")
        lines = []
        for product in chooser.sample(saleable, chooser.randint(1, 3)):
            sku = (
                chooser.choice(product.children)
                if product.type_id == "configurable"
                else product.sku
            )
            lines.append(store.catalogue.line(sku, chooser.randint(1, 3)))
        store.place_order(guest, lines)
        store.clock.advance(ORDER_SPACING)
    return placed


def deliveries(events: list[Event]) -> list[Delivery]:
    """The events as the webhook reads Adobe's deliveries (keys, exact bytes, ids)."""
    read = []
    for begin in range(0, len(events), DELIVERY_EVENTS):
        body = orjson.dumps(events[begin : begin + DELIVERY_EVENTS])
        delivery = read_delivery(body, CLIENT_ID)
        if delivery.unreadable or delivery.refused or delivery.foreign_recipients:
            raise RuntimeError(f"the webhook would not take delivery {begin}: {delivery}")
        read.append(delivery)
    return read


class ProducedTopic:
    """A topic the way RawPublisher sends to it (Faust's `topic.send`), on a plain producer."""

    def __init__(self, producer: AIOKafkaProducer, name: str, sent: Callable[[], None]) -> None:
        self._producer = producer
        self._name = name
        self._sent = sent

    async def send(self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        self._sent()
        return await self._producer.send(self._name, value=value, key=key, headers=headers)


async def publish(
    bootstrap: str, topic: str, read: list[Delivery], sent: Callable[[], None]
) -> dict[str, float]:
    """Every delivery through the webhook's RawPublisher onto `topic`, all at once; when the
    first record went and when the broker had acknowledged the last."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=LINGER_MS,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        metrics = Metrics()
        publisher = RawPublisher(
            ProducedTopic(producer, topic, sent),
            Incidents(None, None, metrics),
            metrics,
            timeout=120,
        )
        started = time.time()
        await asyncio.gather(*(publisher.publish(delivery, source="bench") for delivery in read))
        return {"started": started, "acknowledged": time.time()}
    finally:
        await producer.stop()


# --- what the broker shows ---


@dataclass
class Tally:
    """The distinct items seen on a topic, each with its first record's timestamp (the
    producer's clock: CreateTime, this host), and how many records."""

    first: dict[str, float] = field(default_factory=dict)
    records: int = 0

    def note(self, item: str | None, timestamp_ms: int) -> None:
        self.records += 1
        if item is not None and item not in self.first:
            self.first[item] = timestamp_ms / 1000

    def seen(self) -> int:
        return len(self.first)

    def all_by(self) -> float | None:
        """When the last of the items first appeared."""
        return max(self.first.values()) if self.first else None


Item = Callable[[Any], str | None]


def normalized_order(record: Any) -> str | None:
    return str(orjson.loads(record.value)["increment_id"])


def orders_command(record: Any) -> str | None:
    """The order an `Orders` insight write command is for (its record key), else None."""
    command = orjson.loads(record.value)["command"]
    if command["kind"] == "insight" and command["collection"] == "Orders":
        return str(command["record"]["key"])
    return None


def event_id(record: Any) -> str | None:
    return next((v.decode() for k, v in record.headers if k == EVENT_ID_HEADER), None)


async def watch(
    bootstrap: str,
    items: dict[str, Item],
    tallies: dict[str, Tally],
    goal: str,
    count: int,
) -> None:
    """Read the topics of `items` from the start until `goal`'s tally holds `count` items."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        await consumer.topics()
        assignment = [
            TopicPartition(topic, partition)
            for topic in items
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        while tallies[goal].seen() < count:
            polled = await consumer.getmany(timeout_ms=200, max_records=5000)
            for partition, records in polled.items():
                item, tally = items[partition.topic], tallies[partition.topic]
                for record in records:
                    tally.note(item(record), record.timestamp)
    finally:
        await consumer.stop()


async def send_and_watch(
    bootstrap: str,
    topic: str,
    read: list[Delivery],
    tallies: dict[str, Tally],
    sent: Callable[[], None],
    items: dict[str, Item],
    goal: str,
    seconds: float,
) -> dict[str, float]:
    """Publish the deliveries onto `topic` while watching `items`' topics; done once `goal`
    holds an item per envelope, or RuntimeError after `seconds`."""
    count = sum(len(delivery.events) for delivery in read)
    watching = asyncio.create_task(watch(bootstrap, items, tallies, goal, count))
    times = await publish(bootstrap, topic, read, sent)
    try:
        await asyncio.wait_for(watching, seconds)
    except TimeoutError:
        raise RuntimeError(
            f"{goal}: {tallies[goal].seen()} of {count} after {seconds:.0f} s"
        ) from None
    return times


async def records_by_topic(bootstrap: str, quiet: float = 2.0) -> dict[str, int]:
    """How many records each topic holds, read from the start until nothing came for `quiet`
    seconds (the embedded broker's end offsets are one batch short, so they are not asked)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    counts: dict[str, int] = {}
    try:
        assignment = [
            TopicPartition(topic, partition)
            for topic in sorted(await consumer.topics())
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        last_news = time.monotonic()
        while time.monotonic() - last_news < quiet:
            polled = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for partition, records in polled.items():
                if records:
                    counts[partition.topic] = counts.get(partition.topic, 0) + len(records)
                    last_news = time.monotonic()
    finally:
        await consumer.stop()
    return counts
