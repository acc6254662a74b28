"""The `/_sandbox/` admin surface: status, faults, reset, event fates, more traffic or history."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.commerce.adobe_io.faults import DeliveryFaults
from sandbox.commerce.api.state import STATE, CommerceSandbox

TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("traffic_tasks", set)


class TrafficRequest(BaseModel):
    """`POST /_sandbox/traffic` (live, at the configured rate) or `/_sandbox/history` (at once,
    unpublished: the store's past, for backfills)."""

    model_config = ConfigDict(extra="forbid")

    orders: int = Field(ge=1, le=1_000_000)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _sandbox(request: web.Request) -> CommerceSandbox:
    return request.app[STATE]


async def _body(request: web.Request) -> bytes:
    return await request.read() or b"{}"


async def status(request: web.Request) -> web.StreamResponse:
    return _json(_sandbox(request).status())


async def get_faults(request: web.Request) -> web.StreamResponse:
    return _json(_sandbox(request).dice.settings.model_dump())


async def set_faults(request: web.Request) -> web.StreamResponse:
    """Replace every fault at once (fields left out take their defaults)."""
    try:
        settings = DeliveryFaults.model_validate_json(await _body(request))
    except ValidationError as error:
        return _json({"error": str(error)}, 400)
    _sandbox(request).dice.configure(settings)
    return _json(settings.model_dump())


async def reset(request: web.Request) -> web.StreamResponse:
    _sandbox(request).reset()
    return _json({"reset": True})


async def fates(request: web.Request) -> web.StreamResponse:
    """What became of each event id so far, oldest first."""
    deliverer = _sandbox(request).deliverer
    found = list(deliverer.fates.values()) if deliverer else []
    return _json({"events": [fate.as_json() for fate in found]})


async def traffic(request: web.Request) -> web.StreamResponse:
    try:
        wanted = TrafficRequest.model_validate_json(await _body(request))
    except ValidationError as error:
        return _json({"error": str(error)}, 400)
    task = asyncio.create_task(_sandbox(request).send_traffic(wanted.orders))
    request.app[TASKS].add(task)
    task.add_done_callback(request.app[TASKS].discard)
    return _json({"orders": wanted.orders}, 202)


async def history(request: web.Request) -> web.StreamResponse:
    try:
        wanted = TrafficRequest.model_validate_json(await _body(request))
    except ValidationError as error:
        return _json({"error": str(error)}, 400)
    sandbox = _sandbox(request)
    sandbox.play_history(wanted.orders)
    return _json({"orders": len(sandbox.store.orders)})


ROUTES = (
    ("GET", "/_sandbox/status", status),
    ("GET", "/_sandbox/faults", get_faults),
    ("POST", "/_sandbox/faults", set_faults),
    ("POST", "/_sandbox/reset", reset),
    ("GET", "/_sandbox/events", fates),
    ("POST", "/_sandbox/traffic", traffic),
    ("POST", "/_sandbox/history", history),
)
