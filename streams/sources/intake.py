"""What the webhook takes from a request before trusting it: signature headers first, then a body
bounded in size and in time, for at most so many deliveries at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from connectors.adobe_io.signature import KEY_PATH_HEADERS, SIGNATURE_HEADERS

# Adobe retries a 429 after a minute whatever we say; other senders get a hint.
RETRY_AFTER_SECONDS = 1


class Refusal(Exception):
    """A request answered with a 4xx before (or while) its body is read."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


class Stream(Protocol):
    """A request body as it arrives (aiohttp's `StreamReader`): `b""` once it has ended."""

    async def readany(self) -> bytes: ...


def signature_headers_present(headers: Mapping[str, str]) -> bool:
    """Whether the request names a signature and the key to check it with; without both, no
    body can verify, so it is not read."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return any(
        lowered.get(signature, "").strip() and lowered.get(path, "").strip()
        for signature, path in zip(SIGNATURE_HEADERS, KEY_PATH_HEADERS, strict=True)
    )


def check_declared_length(declared: int | None, limit: int) -> None:
    """Refuse (413) a body announced larger than `limit`, before reading any of it."""
    if declared is not None and declared > limit:
        raise Refusal(413, f"a body of {declared} bytes; at most {limit} are read")


async def read_bounded(stream: Stream, *, limit: int, within: float) -> bytes:
    """The whole body, refused (413) as soon as it grows past `limit` bytes, and (408) when it is
    not complete `within` seconds, so neither a long nor a slow body holds memory."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            while chunk := await stream.readany():
                size += len(chunk)
                if size > limit:
                    raise Refusal(413, f"a body of more than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise Refusal(408, f"the body did not arrive within {within:g} s") from exc
    except ConnectionError as exc:
        # Nobody is left to read the answer; the refusal only ends the request quietly.
        raise Refusal(400, "the connection closed before the body was complete") from exc
    return b"".join(chunks)


class Gate:
    """At most `limit` deliveries read or processed at once; one more is turned away (429), not
    queued, so a flood holds neither memory nor connections here."""

    def __init__(self, limit: int) -> None:
        self._free = limit

    @property
    def free(self) -> int:
        return self._free

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self._free <= 0:
            raise Refusal(
                429,
                "too many deliveries at once; retry later",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._free -= 1
        try:
            yield
        finally:
            self._free += 1
