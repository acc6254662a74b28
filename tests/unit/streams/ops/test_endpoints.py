"""`/ops/status` served by the worker's web server: counters, latencies, assignment, leadership."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP
from pydantic import SecretStr

from streams.ops.endpoints import register_ops
from streams.runtime.metrics import Metrics
from streams.settings import Settings, WebSettings


class AssignedConsumer:
    """The consumer as the status page reads it: only which partitions it holds."""

    def assignment(self) -> set[TP]:
        return {TP("cartwright.commerce.writes.v1", 1), TP("cartwright.commerce.writes.v1", 0)}


@pytest.fixture
def metrics() -> Metrics:
    metrics = Metrics()
    metrics.add("consent.commerce_writes", 3)
    for seconds in (1.0, 2.0, 30.0):
        metrics.observe("consent.propagation.dotdigital_to_commerce", seconds)
    return metrics


async def serving(settings: Settings, metrics: Metrics) -> TestClient[web.Request, web.Application]:
    app: Any = faust.App("ops-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.consumer = AssignedConsumer()
    register_ops(app, settings, metrics, budget=lambda: {"share": "1/4", "leader": False})
    return TestClient(TestServer(app.web.web_app))


@pytest.fixture
async def status(metrics: Metrics) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with await serving(Settings(web=WebSettings()), metrics) as client:
        yield client


async def test_status_shows_counts_latencies_and_assigned_partitions(
    status: TestClient[web.Request, web.Application],
) -> None:
    response = await status.get("/ops/status")

    assert response.status == 200
    body = await response.json()
    assert body["counts"] == {"consent.commerce_writes": 3}
    assert body["latencies"] == {
        "consent.propagation.dotdigital_to_commerce": {
            "count": 3,
            "p50": 2.0,
            "p95": 30.0,
            "max": 30.0,
        }
    }
    assert body["assigned"] == [
        "cartwright.commerce.writes.v1[0]",
        "cartwright.commerce.writes.v1[1]",
    ]


async def test_status_says_whether_the_worker_leads_and_its_dotdigital_budget(
    status: TestClient[web.Request, web.Application],
) -> None:
    body = await (await status.get("/ops/status")).json()

    # The consumer holds no partition of the leader topic: another worker polls the feeds.
    assert body["leader"] is False
    assert body["dotdigital_budget"] == {"share": "1/4", "leader": False}


async def test_status_wants_the_ops_token_when_one_is_set(metrics: Metrics) -> None:
    settings = Settings(web=WebSettings(ops_token=SecretStr("ops-secret")))

    async with await serving(settings, metrics) as client:
        refused = await client.get("/ops/status")
        allowed = await client.get("/ops/status", headers={"Authorization": "Bearer ops-secret"})

    assert refused.status == 401
    assert allowed.status == 200
