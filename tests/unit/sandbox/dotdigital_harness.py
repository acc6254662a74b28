"""A Dotdigital sandbox on a free local port, a clock tests can move, and an import poller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.api.server import serve

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the start of a rate-limit minute


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Running:
    """A started sandbox: an authenticated client, an anonymous one, and its clock."""

    base_url: str
    api: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    clock: FakeClock
    config: SandboxConfig

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with a body) or GET an admin route and return its JSON."""
        if body is None:
            response = await self.anonymous.get(f"/_sandbox/{path}")
        else:
            response = await self.anonymous.post(f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def poll_import(self, path: str, max_polls: int = 10) -> list[dict[str, Any]]:
        """Poll an import status until it leaves NotFinished; every answer, in order."""
        answers: list[dict[str, Any]] = []
        for _ in range(max_polls):
            response = await self.api.get(path)
            assert response.status_code == 200, response.text
            answers.append(response.json())
            if answers[-1]["status"] != "NotFinished":
                return answers
        raise AssertionError(f"{path} still NotFinished after {max_polls} polls")


@asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None, clock: FakeClock | None = None
) -> AsyncIterator[Running]:
    """Serve a sandbox on 127.0.0.1 with a free port for the duration of the block."""
    config = config or SandboxConfig()
    clock = clock or FakeClock()
    runner = await serve(config, host="127.0.0.1", port=0, clock=clock)
    try:
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with (
            httpx.AsyncClient(base_url=base_url, auth=(config.username, config.password)) as api,
            httpx.AsyncClient(base_url=base_url) as anonymous,
        ):
            yield Running(base_url, api, anonymous, clock, config)
    finally:
        await runner.cleanup()
