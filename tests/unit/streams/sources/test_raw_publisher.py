"""Publishing deliveries on the raw topic: each id once, stored ids from before remembered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
import pytest

from schemas.contract.incidents import Reason
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.sources.deliveries import Delivery, Incoming, Unreadable
from streams.sources.raw_publisher import EVENT_ID_HEADER, RawPublisher, Unstored
from tests.support.topic import RecordingTopic


@dataclass(frozen=True)
class Stored:
    partition: int
    offset: int


class RawTopic:
    """Acknowledges each send at once with the next offset, or never (`stalled`)."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.sent: list[bytes] = []
        self.headers: list[list[tuple[str, bytes]]] = []
        self.stalled = stalled

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[Stored]:
        self.sent.append(value)
        self.headers.append(headers or [])
        ack: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        if not self.stalled:
            ack.set_result(Stored(0, len(self.sent) - 1))
        return ack


def incoming(event_id: str) -> Incoming:
    return Incoming(event_id, "t", f"event:{event_id}", orjson.dumps({"eventid": event_id}))


def publisher(topic: RawTopic, deadletter: RecordingTopic | None = None) -> RawPublisher:
    incidents = Incidents(deadletter or RecordingTopic(), RecordingTopic())
    return RawPublisher(topic, incidents, Metrics(), timeout=0.05)


async def test_ids_stored_before_are_duplicates() -> None:
    topic = RawTopic()
    raw = publisher(topic)
    raw.already_stored(event_id for event_id in ("evt-1", "evt-2"))

    published = await raw.publish(
        Delivery(events=[incoming("evt-1"), incoming("evt-3")]), source="webhook"
    )

    assert (published.accepted, published.duplicates) == (1, 1)
    assert topic.sent == [incoming("evt-3").value]


async def test_each_stored_record_names_its_event_id_in_a_header() -> None:
    topic = RawTopic()

    await publisher(topic).publish(
        Delivery(events=[incoming("evt-1"), incoming("evt-2")]), source="webhook"
    )

    assert topic.headers == [[(EVENT_ID_HEADER, b"evt-1")], [(EVENT_ID_HEADER, b"evt-2")]]


async def test_an_id_twice_in_one_delivery_is_stored_once() -> None:
    topic = RawTopic()

    published = await publisher(topic).publish(
        Delivery(events=[incoming("evt-1"), incoming("evt-1")]), source="webhook"
    )

    assert (published.accepted, published.duplicates) == (1, 1)
    assert len(topic.sent) == 1


async def test_a_refused_delivery_is_one_dead_letter_and_nothing_stored() -> None:
    topic, deadletter = RawTopic(), RecordingTopic()
    refused = Unreadable(Reason.DELIVERY_TOO_LARGE, "too many", b"[" + b"{}," * 600 + b"{}]")

    published = await publisher(topic, deadletter).publish(
        Delivery(unreadable=[refused]), source="webhook"
    )

    assert (published.accepted, published.dead_lettered) == (0, 1)
    assert topic.sent == []
    [(_, letter)] = deadletter.sent
    assert orjson.loads(letter)["reason"] == Reason.DELIVERY_TOO_LARGE.value


async def test_an_unacknowledged_delivery_is_unstored_and_its_ids_not_remembered() -> None:
    raw = publisher(RawTopic(stalled=True))

    with pytest.raises(Unstored):
        await raw.publish(Delivery(events=[incoming("evt-1")]), source="webhook")

    assert "evt-1" not in raw.seen
