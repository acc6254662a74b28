"""What the webhook takes from a request before trusting it: headers, a bounded body, a slot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from streams.sources.intake import (
    RETRY_AFTER_SECONDS,
    Gate,
    Refusal,
    check_declared_length,
    read_bounded,
    signature_headers_present,
)

SIGNED = {
    "x-adobe-digital-signature-1": "c2lnbmF0dXJl",
    "x-adobe-public-key1-path": "/prod/keys/pub-key-1.pem",
}


class Chunks:
    """A body arriving in the given chunks, then ending, or then stalling (never ending)."""

    def __init__(self, chunks: Iterable[bytes], *, stall: bool = False) -> None:
        self._chunks = list(chunks)
        self._stall = stall
        self.reads = 0

    async def readany(self) -> bytes:
        self.reads += 1
        if self._chunks:
            return self._chunks.pop(0)
        if self._stall:
            await asyncio.Event().wait()
        return b""


def test_a_signature_with_its_key_path_is_present() -> None:
    assert signature_headers_present(SIGNED)
    assert signature_headers_present({k.upper(): v for k, v in SIGNED.items()})
    assert signature_headers_present(
        {
            "x-adobe-digital-signature-2": "c2ln",
            "x-adobe-public-key2-path": "/prod/keys/pub-key-2.pem",
        }
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json"},
        {"x-adobe-digital-signature-1": "c2ln"},
        {"x-adobe-public-key1-path": "/prod/keys/pub-key-1.pem"},
        {**SIGNED, "x-adobe-digital-signature-1": "  "},
        # a signature with the other signature's key path is no pair
        {"x-adobe-digital-signature-1": "c2ln", "x-adobe-public-key2-path": "/k.pem"},
    ],
)
def test_without_a_signature_and_its_key_path_nothing_is_present(
    headers: dict[str, str],
) -> None:
    assert not signature_headers_present(headers)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    check_declared_length(None, 100)
    check_declared_length(100, 100)
    with pytest.raises(Refusal) as refused:
        check_declared_length(101, 100)

    assert refused.value.status == 413


async def test_a_body_within_the_limit_is_read_whole() -> None:
    body = await read_bounded(Chunks([b"ab", b"cd", b"e"]), limit=5, within=5.0)

    assert body == b"abcde"


async def test_a_body_growing_past_the_limit_is_refused_at_that_chunk() -> None:
    stream = Chunks([b"ab", b"cd", b"ef", b"gh"])

    with pytest.raises(Refusal) as refused:
        await read_bounded(stream, limit=5, within=5.0)

    assert refused.value.status == 413
    assert stream.reads == 3


async def test_a_body_that_stops_arriving_is_refused_with_408() -> None:
    with pytest.raises(Refusal) as refused:
        await read_bounded(Chunks([b"ab"], stall=True), limit=100, within=0.05)

    assert refused.value.status == 408


def test_the_gate_turns_away_one_more_than_its_limit_with_retry_after() -> None:
    gate = Gate(2)

    with gate.slot(), gate.slot():
        assert gate.free == 0
        with pytest.raises(Refusal) as refused, gate.slot():
            pass
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": str(RETRY_AFTER_SECONDS)}
    assert gate.free == 2


def test_a_slot_is_given_back_when_its_delivery_fails() -> None:
    gate = Gate(1)

    with pytest.raises(RuntimeError), gate.slot():
        raise RuntimeError("processing failed")

    assert gate.free == 1
