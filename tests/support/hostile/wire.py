"""Sending cases: whole bodies over httpx, and slow, half-sent or streamed ones over a raw socket.

Every send is bounded by Adobe's 10 s: the answer's status and how long it took are what is
measured; a case with no answer in time gets `NO_ANSWER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.hostile.case import ADOBE_DEADLINE, CLOSED, Case, Slow

NO_ANSWER = -1
PIECE = 64 * 1024
RAW_ABOVE = 1024 * 1024  # bodies larger than this go over the socket, answered mid-upload or not
_MAX_ANSWER_BODY = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """The worker's answer to one case: its status (or CLOSED, NO_ANSWER) and how long it took."""

    status: int
    seconds: float
    retry_after: str | None = None
    text: str = ""


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return CLOSED, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length", "0") or 0), _MAX_ANSWER_BODY)
    try:
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        body = b""
    return status, headers, body


def _head(case: Case, host: str, path: str, slow: Slow) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in case.headers.items()]
    if slow.stream:
        lines.append("Transfer-Encoding: chunked")
    elif slow.declared_length is not None:
        lines.append(f"Content-Length: {slow.declared_length}")
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    return head + b"\r\n" if slow.finish_head else head


async def _write(
    writer: asyncio.StreamWriter, case: Case, slow: Slow, head: bytes, answered: asyncio.Task[Any]
) -> None:
    """Write the request as `slow` says, until it is all written or the worker answered."""
    writer.write(head)
    await writer.drain()
    if slow.stream:
        sent, filler = 0, case.body + b" " * max(0, PIECE - len(case.body))
        while sent < slow.stream and not answered.done():
            chunk = filler[:PIECE]
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
            sent += len(chunk)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return
    for start in range(0, len(slow.sent), PIECE):
        if answered.done():
            return
        writer.write(slow.sent[start : start + PIECE])
        await writer.drain()
    for start in range(0, len(slow.trickle), slow.piece):
        # Wait for the answer, a little: when none came, the next piece goes out.
        done, _ = await asyncio.wait({answered}, timeout=slow.every)
        if done:
            return
        writer.write(slow.trickle[start : start + slow.piece])
        await writer.drain()


async def send_raw(url: str, case: Case, slow: Slow | None = None) -> Answer:
    """Send `case` over a raw socket (as its `slow` says, or whole) and read the answer."""
    slow = slow or case.slow or Slow(len(case.body), sent=case.body)
    parts = urlsplit(url)
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    answered: asyncio.Task[tuple[int, dict[str, str], bytes]] = asyncio.create_task(
        _read_answer(reader)
    )
    head = _head(case, parts.netloc, parts.path, slow)
    writing = asyncio.create_task(_write(writer, case, slow, head, answered))
    try:
        done, _ = await asyncio.wait({answered}, timeout=ADOBE_DEADLINE)
        seconds = time.monotonic() - started
        if not done:
            return Answer(NO_ANSWER, seconds)
        status, headers, body = answered.result()
        return Answer(status, seconds, headers.get("retry-after"), body.decode(errors="replace"))
    finally:
        for task in (writing, answered):
            task.cancel()
        await asyncio.gather(writing, answered, return_exceptions=True)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def send(client: httpx.AsyncClient, url: str, case: Case) -> Answer:
    """Send one case: whole over HTTP, or over the socket when it is slow or large."""
    if case.slow is not None or len(case.body) > RAW_ABOVE:
        return await send_raw(url, case)
    started = time.monotonic()
    try:
        response = await client.post(
            url, content=case.body, headers=case.headers, timeout=ADOBE_DEADLINE
        )
    except httpx.TimeoutException:
        return Answer(NO_ANSWER, time.monotonic() - started)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        return Answer(CLOSED, time.monotonic() - started)
    seconds = time.monotonic() - started
    return Answer(response.status_code, seconds, response.headers.get("retry-after"), response.text)


async def send_all(
    url: str, cases: Iterable[Case], *, at_once: int = 8, health: str | None = None
) -> dict[str, Answer]:
    """Send every case, `at_once` whole ones at a time and every slow one alongside. Once the
    worker stops answering (five cases unanswered and `health` silent), the rest are not sent:
    they would each wait out the deadline too."""
    gate = asyncio.Semaphore(at_once)
    answers: dict[str, Answer] = {}
    unanswered = 0
    gave_up = False

    async def one(client: httpx.AsyncClient, case: Case) -> None:
        nonlocal unanswered, gave_up
        if case.slow is None:
            await gate.acquire()
        try:
            if gave_up:
                return
            answer = await send(client, url, case)
            answers[case.name] = answer
            if answer.status == NO_ANSWER and case.slow is None:
                unanswered += 1
                if unanswered >= 5 and health is not None and not await _healthy(health):
                    gave_up = True
        finally:
            if case.slow is None:
                gate.release()

    limits = httpx.Limits(max_connections=at_once, max_keepalive_connections=at_once)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(one(client, case) for case in cases))
    return answers


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=ADOBE_DEADLINE)).status_code == 200
    except httpx.HTTPError:
        return False
