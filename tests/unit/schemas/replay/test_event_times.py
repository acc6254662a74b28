"""A raw event's time as a replay selects by it: read from the bytes or from the envelope the
normalize agent parsed, always the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.commerce.events import ORDER_SAVED, CloudEvent
from schemas.replay.window import event_time, raw_event_time

_ABSENT = object()

stamps = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.isoformat(sep=" ")
    ),
    st.sampled_from(
        [
            "",
            "  ",
            "0000-00-00 00:00:00",
            "2026-11-05",
            "2026-11-05T10:00:00Z",
            "2026-11-05T10:00:00." + "1" * 60 + "+00:00",
            "yesterday",
            "2026-13-45T99:00:00Z",
        ]
    ),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.just([]),
    st.just({}),
)


def put(document: dict[str, Any], name: str, value: Any) -> None:
    if value is not _ABSENT:
        document[name] = value


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    entity: dict[str, Any] = {"entity_id": 7}
    put(entity, "updated_at", draw(st.one_of(st.just(_ABSENT), stamps)))
    put(entity, "created_at", draw(st.one_of(st.just(_ABSENT), stamps)))
    envelope: dict[str, Any] = {"eventid": "e-1", "type": ORDER_SAVED}
    put(envelope, "time", draw(st.one_of(st.just(_ABSENT), stamps)))
    data = draw(st.sampled_from(["entity", "null value", "empty list", "no data", "null data"]))
    if data == "entity":
        envelope["data"] = {"value": entity}
    elif data == "null value":
        envelope["data"] = {"value": None}
    elif data == "empty list":
        envelope["data"] = {"value": []}
    elif data == "null data":
        envelope["data"] = None
    return orjson.dumps(envelope)


@settings(max_examples=800)
@given(raw=envelopes())
def test_the_parsed_envelope_gives_the_time_the_bytes_give(raw: bytes) -> None:
    try:
        envelope = CloudEvent.model_validate_json(raw)
    except ValidationError:
        return  # the normalize agent reads such a record's time from its bytes
    assert event_time(envelope.time, envelope.data.value) == raw_event_time(raw)


def test_the_envelope_time_wins_over_the_entity_times() -> None:
    raw = orjson.dumps(
        {
            "eventid": "e",
            "type": ORDER_SAVED,
            "time": "2026-11-05T10:00:00Z",
            "data": {"value": {"updated_at": "2026-11-01 09:00:00"}},
        }
    )

    assert raw_event_time(raw) == datetime(2026, 11, 5, 10, tzinfo=UTC)


def test_without_envelope_time_the_entity_updated_at_then_created_at() -> None:
    def raw(value: dict[str, Any]) -> bytes:
        return orjson.dumps({"eventid": "e", "type": ORDER_SAVED, "data": {"value": value}})

    assert raw_event_time(raw({"updated_at": "2026-11-01 09:00:00"})) == datetime(
        2026, 11, 1, 9, tzinfo=UTC
    )
    assert raw_event_time(raw({"updated_at": "", "created_at": "2026-10-01"})) == datetime(
        2026, 10, 1, tzinfo=UTC
    )
    assert raw_event_time(raw({})) is None
    assert raw_event_time(b"not json") is None
