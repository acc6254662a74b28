"""The receipt time a record carries from the raw topic to the sink."""

from __future__ import annotations

from schemas.contract.received import RECEIVED_HEADER, next_hop, received_at
from schemas.contract.replay import REPLAY_HEADER


def test_the_receipt_time_goes_on_to_the_next_hop_to_the_millisecond() -> None:
    headers = next_hop(None, 1_767_000_000.1234)

    assert headers == [(RECEIVED_HEADER, b"1767000000123")]
    assert received_at(headers) == 1_767_000_000.123
    assert received_at(dict(headers)) == 1_767_000_000.123


def test_a_replay_carries_its_run_and_no_receipt_time() -> None:
    headers = next_hop("run-7", 1_767_000_000.0)

    assert headers == [(REPLAY_HEADER, b"run-7")]
    assert received_at(headers) is None


def test_a_record_without_a_time_or_with_a_bad_one_has_none() -> None:
    assert next_hop(None, None) is None
    assert received_at(None) is None
    assert received_at([(RECEIVED_HEADER, b"soon")]) is None
    assert received_at([(RECEIVED_HEADER, b"9" * 40)]) is None
