"""The normalize agent's step on hostile raw records: every one is published or dead-lettered with
a named reason, giant numbers never freeze it, and a fault of its own never stops it."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.incidents import DeadLetter, Reason, SyncException
from schemas.contract.topics import RAW
from schemas.rules import order_facts
from streams.process import normalize
from streams.process.normalize import Normalizer, NormalizeRecords
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic, UnacknowledgedTopic

FIXTURES = Path(__file__).parents[3] / "fixtures" / "commerce"
ORDER = "guest_order"
SHIPMENT = "guest_order_shipment_partial"
CREDITMEMO = "guest_order_creditmemo"
CUSTOMER = "customer_email_changed"
_MARK = "__hostile__"

Path_ = tuple[str | int, ...]


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def hostile(name: str, path: Path_, token: bytes) -> bytes:
    """The fixture's raw bytes with the JSON text `token` (as written, NaN and all) at `path`
    of the entity."""
    document = fixture(name)
    target = document["data"]["value"]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = _MARK
    return orjson.dumps(document).replace(orjson.dumps(_MARK), token)


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

    async def put(self, value: bytes) -> None:
        try:
            key = raw_key(CloudEvent.model_validate_json(value)).encode()
        except ValueError:
            key = b"unreadable"
        await self.step.one(consumed(RAW, value, key=key, offset=self._offset))
        self._offset += 1

    def topic(self, name: str) -> RecordingTopic:
        topic: RecordingTopic = getattr(self.topics, name)
        return topic

    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for _, v in self.topic("deadletter").sent]

    def exception_records(self) -> list[SyncException]:
        return [SyncException.model_validate_json(v) for _, v in self.topic("exceptions").sent]

    def published(self) -> int:
        names = ("orders", "customers", "refunds", "consent_observed")
        return sum(len(self.topic(name).sent) for name in names)


async def outcome(name: str, path: Path_, token: bytes) -> tuple[Reason | None, str]:
    """The reason the record was dead-lettered with (None: it was not) and the detail."""
    agent = Agent()
    if name in (SHIPMENT, CREDITMEMO):
        await agent.put(orjson.dumps(fixture(ORDER)))  # the order first, so they publish
    await agent.put(hostile(name, path, token))
    letters = agent.dead_letters()
    assert len(letters) <= 1
    return (letters[0].reason, letters[0].detail) if letters else (None, "")


GIANT = b"1e999999999"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        (ORDER, ("entity_id",)),
        (SHIPMENT, ("order_id",)),
        (CREDITMEMO, ("order_id",)),
        (CUSTOMER, ("id",)),
        (ORDER, ("customer_id",)),
        (ORDER, ("items", 0, "qty_ordered")),
        (ORDER, ("items", 0, "price")),
        (SHIPMENT, ("items", 0, "qty")),
        (CREDITMEMO, ("items", 0, "qty")),
    ],
)
@pytest.mark.parametrize("token", [GIANT, b'"' + GIANT + b'"', b'"-' + GIANT + b'"'])
async def test_a_giant_number_is_dead_lettered_at_once_naming_its_field(
    name: str, path: Path_, token: bytes
) -> None:
    # Before, int(Decimal("1e999999999")) held the event loop for good; this returns at once.
    reason, detail = await outcome(name, path, token)

    assert reason is Reason.NUMBER_OUT_OF_RANGE
    assert detail.startswith(f"number out of range: {'.'.join(map(str, path))} = ")


@pytest.mark.parametrize(
    ("name", "path", "token", "reason"),
    [
        # ids
        (ORDER, ("entity_id",), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"-Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"1e5000", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"-1e400", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"123456789012345678901234567890", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b'"123456789012345678901234567890"', Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"9" * 4000, Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b'"sNaN"', Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"-3", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b"3.5", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("entity_id",), b'"42"', None),
        (ORDER, ("entity_id",), b"true", Reason.INVALID_PAYLOAD),
        (ORDER, ("entity_id",), b'{"id": 3}', Reason.INVALID_PAYLOAD),
        (ORDER, ("entity_id",), b"[3]", Reason.INVALID_PAYLOAD),
        (ORDER, ("entity_id",), b'"1_000"', Reason.INVALID_PAYLOAD),
        (ORDER, ("quote_id",), b"Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("store_id",), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("store_id",), b"false", Reason.INVALID_PAYLOAD),
        (ORDER, ("items", 0, "item_id"), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "product_id"), b"-1", Reason.NUMBER_OUT_OF_RANGE),
        (SHIPMENT, ("items", 0, "order_item_id"), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (CUSTOMER, ("group_id",), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        # money
        (ORDER, ("grand_total",), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b"Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b"-1e400", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b"123456789012345678901234567890", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b'"-229.83"', Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("subtotal",), b"-1", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("total_refunded",), b'"-0.01"', Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("grand_total",), b'"229.83"', None),
        (ORDER, ("grand_total",), b"true", Reason.INVALID_PAYLOAD),
        (ORDER, ("grand_total",), b'{"value": 1}', Reason.INVALID_PAYLOAD),
        (ORDER, ("discount_amount",), b'"-10.00"', None),  # discounts are negative
        (ORDER, ("discount_amount",), b"-1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("tax_amount",), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "price"), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "row_total"), b"-Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (CREDITMEMO, ("grand_total",), b"-5", Reason.NUMBER_OUT_OF_RANGE),
        (CREDITMEMO, ("grand_total",), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (CREDITMEMO, ("adjustment",), b'"-2.50"', None),
        # quantities
        (ORDER, ("items", 0, "qty_ordered"), b"NaN", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "qty_ordered"), b"1e30", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "qty_ordered"), b'"100000000"', Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "qty_ordered"), b"-1", Reason.NUMBER_OUT_OF_RANGE),
        (ORDER, ("items", 0, "qty_ordered"), b'"2.000000"', None),
        (ORDER, ("items", 0, "qty_shipped"), b"true", Reason.INVALID_PAYLOAD),
        (SHIPMENT, ("items", 0, "qty"), b"Infinity", Reason.NUMBER_OUT_OF_RANGE),
        (CREDITMEMO, ("items", 0, "qty"), b"-1", Reason.NUMBER_OUT_OF_RANGE),
        # wrong types where objects and lists belong
        (ORDER, ("items",), b'"abc"', Reason.INVALID_PAYLOAD),
        (ORDER, ("items",), b"[1, 2]", Reason.INVALID_PAYLOAD),
        (ORDER, ("items",), b'{"12": {"item_id": 12, "sku": "X"}}', None),
        (ORDER, ("addresses",), b"[1, 2]", None),
        (ORDER, ("addresses",), b'"billing"', None),
        (ORDER, ("addresses", 0), b'"billing"', None),
        (ORDER, ("addresses", 0, "street"), b"5", Reason.INVALID_PAYLOAD),
        (ORDER, ("addresses", 0, "street"), b'[1, {"a": 2}]', None),
        (ORDER, ("payment",), b'"checkmo"', Reason.INVALID_PAYLOAD),
        (ORDER, ("payment", "additional_information"), b"NaN", None),
        (ORDER, ("items", 0, "product_options"), b'"' + b"[" * 3000 + b'"', None),
        (ORDER, ("items", 0, "product_options"), b"12", None),
        (SHIPMENT, ("items",), b"7", Reason.INVALID_PAYLOAD),
        (SHIPMENT, ("tracks",), b'"1Z999"', Reason.INVALID_PAYLOAD),
        (CREDITMEMO, ("items",), b'{"5": {"order_item_id": 5, "qty": 1}}', None),
        (CUSTOMER, ("extension_attributes",), b"42", None),
        (CUSTOMER, ("_origData",), b'"x"', None),
        # hostile emails
        (ORDER, ("customer_email",), '"\u212aate@example.com"'.encode(), Reason.INVALID_EMAIL),
        (ORDER, ("customer_email",), b"12345", Reason.INVALID_EMAIL),
        (ORDER, ("customer_email",), b'{"a": 1}', Reason.INVALID_PAYLOAD),
    ],
)
async def test_a_hostile_value_is_published_or_dead_lettered_with_its_reason(
    name: str, path: Path_, token: bytes, reason: Reason | None
) -> None:
    found, detail = await outcome(name, path, token)

    assert found is reason, detail


_TOKENS = [
    b"NaN",
    b"-Infinity",
    b"1e999999999",
    b"-1e400",
    b"123456789012345678901234567890",
    b'"1e999999999"',
    b'"-7"',
    b"true",
    b'{"a": [1, {"b": null}]}',
    b'[[[[["x"]]]]]',
    b'"\\u202eexample\\u200d"',
]


def _paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every field of an entity, nested ones included (the first two entries of lists)."""
    found: list[Path_] = []
    entries: list[tuple[str | int, Any]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value[:2]))
        if isinstance(value, list)
        else []
    )
    for part, inner in entries:
        found.append((*prefix, part))
        found.extend(_paths(inner, (*prefix, part)))
    return found


@pytest.mark.parametrize("name", [ORDER, SHIPMENT, CREDITMEMO, CUSTOMER])
async def test_any_hostile_value_in_any_field_never_stops_the_agent(name: str) -> None:
    agent = Agent()
    seen = 0
    for path in _paths(fixture(name)["data"]["value"]):
        for token in _TOKENS:
            await agent.put(hostile(name, path, token))
            seen += 1

    letters = agent.dead_letters()
    reasons = {letter.reason for letter in letters}
    assert reasons <= {
        Reason.NUMBER_OUT_OF_RANGE,
        Reason.INVALID_PAYLOAD,
        Reason.INVALID_EMAIL,
        Reason.MISSING_EMAIL,
    }
    assert Reason.NUMBER_OUT_OF_RANGE in reasons
    assert len(agent.exception_records()) == len(letters)
    assert seen > 100


async def test_the_agent_goes_on_after_a_hostile_record() -> None:
    agent = Agent()

    await agent.put(hostile(ORDER, ("grand_total",), b"NaN"))
    await agent.put(orjson.dumps(fixture(ORDER)))

    [letter] = agent.dead_letters()
    assert (letter.reason, letter.source_topic, letter.offset) == (
        Reason.NUMBER_OUT_OF_RANGE,
        RAW,
        0,
    )
    assert letter.detail == "number out of range: grand_total = nan is not finite"
    assert letter.original() == hostile(ORDER, ("grand_total",), b"NaN")
    assert agent.published() == 1


async def test_a_fault_of_its_own_is_dead_lettered_as_processing_failed_and_the_agent_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fault that once restarted the agent and lost the record: an InvalidOperation while
    # folding one order. It is contained now, whatever raises it.
    fold = order_facts.fold_order

    def failing(facts: Any, raw: dict[str, Any], **kwargs: Any) -> Any:
        if raw.get("increment_id") == "000000666":
            raise InvalidOperation("quantize of gemma.guest@example.com's total")
        return fold(facts, raw, **kwargs)

    monkeypatch.setattr(normalize, "fold_order", failing)
    agent = Agent()
    poisoned = hostile(ORDER, ("increment_id",), b'"000000666"')

    await agent.put(poisoned)
    await agent.put(orjson.dumps(fixture(ORDER)))

    [letter] = agent.dead_letters()
    [record] = agent.exception_records()
    assert letter.reason is Reason.PROCESSING_FAILED
    assert letter.detail.startswith("processing failed: InvalidOperation: quantize of")
    assert "gemma.guest@example.com" not in letter.detail  # emails masked
    assert letter.original() == poisoned
    assert (record.reason, record.subject) == (Reason.PROCESSING_FAILED, "order 000000666")
    assert agent.facts.keys() == {b"order:3"}  # the good order only
    assert agent.published() == 1


async def test_an_unreadable_record_is_still_dead_lettered_as_before() -> None:
    agent = Agent()

    await agent.put(b"{not json")
    await agent.put(b'{"id": "e", "type": "t", "data": {"value": "x"}}')

    assert [letter.reason for letter in agent.dead_letters()] == [
        Reason.MALFORMED_JSON,
        Reason.INVALID_ENVELOPE,
    ]


async def test_order_facts_are_kept_only_once_the_events_are_acknowledged() -> None:
    # A kill between the facts' changelog and the normalized events would otherwise recover
    # facts that hold the credit memo, and the redelivered memo would publish nothing.
    agent = Agent()
    await agent.put(orjson.dumps(fixture(ORDER)))
    before = dict(agent.facts)
    healthy = agent.step
    agent.step = NormalizeRecords(
        Normalizer(agent.facts),
        replace(agent.topics, refunds=UnacknowledgedTopic(), orders=UnacknowledgedTopic()),
        Incidents(agent.topics.deadletter, agent.topics.exceptions),
        Metrics(),
    )
    memo = orjson.dumps(fixture(CREDITMEMO))

    with pytest.raises(ConnectionError):
        await agent.put(memo)
    assert agent.facts == before

    agent.step = healthy
    await agent.put(memo)  # redelivered after the restart
    assert len(agent.topic("refunds").sent) == 1
    assert agent.facts != before
