"""Request and response plumbing shared by the route modules: JSON in and out, the app keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.api.errors import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
TIERS: web.AppKey[dict[tuple[str, str], Tier]] = web.AppKey("tiers", dict)


@dataclass(frozen=True)
class Endpoint:
    """One Dotdigital route and the rate-limit tier its calls are charged to."""

    method: str
    path: str
    handler: Handler
    tier: Tier


def sandbox_of(request: web.Request) -> Sandbox:
    return request.app[STATE]


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


async def read_json(request: web.Request, error: ApiError) -> Any:
    """The parsed body, or `error` when it is not JSON."""
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise error from None


async def read_object(request: web.Request, error: ApiError) -> dict[str, Any]:
    """The parsed body when it is a JSON object, or `error`."""
    body = await read_json(request, error)
    if not isinstance(body, dict):
        raise error
    return body
