"""The sandboxes' `/_sandbox/` admin routes: a GET reads, a POST with a body changes."""

from __future__ import annotations

from typing import Any

import httpx


def admin_request(
    http: httpx.Client | httpx.AsyncClient, path: str, body: dict[str, Any] | None = None
) -> httpx.Request:
    """POST (with a body) or GET of the `/_sandbox/{path}` route of `http`'s sandbox."""
    url = f"/_sandbox/{path}"
    if body is None:
        return http.build_request("GET", url)
    return http.build_request("POST", url, json=body)


def admin_reply(response: httpx.Response) -> Any:
    """The JSON of an admin answer; an error status fails the test."""
    response.raise_for_status()
    return response.json()


async def admin(http: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST (with a body) or GET a `/_sandbox/` route; returns its JSON."""
    return admin_reply(await http.send(admin_request(http, path, body)))


def admin_blocking(http: httpx.Client, path: str, body: dict[str, Any] | None = None) -> Any:
    """`admin` for tests that talk to a sandbox in another process, without an event loop."""
    return admin_reply(http.send(admin_request(http, path, body)))
