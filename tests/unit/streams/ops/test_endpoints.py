"""`/ops/status` served by the worker's web server: counters, latencies, assignment, leadership."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP
from prometheus_client.parser import text_string_to_metric_families
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


async def serving(
    settings: Settings, metrics: Metrics, *, started: bool = True
) -> TestClient[web.Request, web.Application]:
    app: Any = faust.App("ops-test", broker="kafka://127.0.0.1:1", store="memory://")
    if started:
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


async def test_status_and_metrics_answer_while_the_consumer_is_still_starting(
    metrics: Metrics,
) -> None:
    # A probe that comes before Faust's consumer thread runs: no partitions yet, no error.
    async with await serving(Settings(web=WebSettings()), metrics, started=False) as client:
        status = await client.get("/ops/status")
        scrape = await client.get("/metrics")

        assert status.status == 200
        assert (await status.json())["assigned"] == []
        assert scrape.status == 200


async def test_status_says_whether_the_worker_leads_and_its_dotdigital_budget(
    status: TestClient[web.Request, web.Application],
) -> None:
    body = await (await status.get("/ops/status")).json()

    # The consumer holds no partition of the leader topic: another worker polls the feeds.
    assert body["leader"] is False
    assert body["dotdigital_budget"] == {"share": "1/4", "leader": False}


@pytest.mark.parametrize("page", ["/ops/status", "/metrics"])
async def test_ops_pages_want_the_ops_token_when_one_is_set(metrics: Metrics, page: str) -> None:
    settings = Settings(web=WebSettings(ops_token=SecretStr("ops-secret")))

    async with await serving(settings, metrics) as client:
        refused = await client.get(page)
        allowed = await client.get(page, headers={"Authorization": "Bearer ops-secret"})

    assert refused.status == 401
    assert allowed.status == 200


def families(text: str) -> dict[str, Any]:
    """The exposition as Prometheus's own parser reads it, by family name."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(family: Any, **labels: str) -> float:
    (value,) = [
        s.value
        for s in family.samples
        if s.name == family.name + "_total" or s.name == family.name
        if s.labels == labels
    ]
    return float(value)


async def test_metrics_parse_as_prometheus_text_with_every_stage_and_the_lag(
    metrics: Metrics,
) -> None:
    metrics.add("normalize.events", 5)
    metrics.dead_lettered("invalid_email", "commerce.raw.v1")
    metrics.wrote("batch", "insight", "accepted", 3)
    metrics.write_accepted_after("realtime", 0.2)
    app: Any = faust.App("ops-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.consumer = AssignedConsumer()
    writes = "cartwright.commerce.writes.v1"
    app.monitor.tp_end_offsets = {TP(writes, 0): 120, TP(writes, 1): 7}
    app.monitor.tp_committed_offsets = {TP(writes, 0): 100}
    register_ops(app, Settings(web=WebSettings()), metrics)

    async with TestClient(TestServer(app.web.web_app)) as client:
        response = await client.get("/metrics")
        text = await response.text()

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = families(text)
    assert sample(found["cartwright_events"], stage="normalize", outcome="events") == 5
    assert sample(found["cartwright_events"], stage="consent", outcome="commerce_writes") == 3
    assert (
        sample(
            found["cartwright_dead_letters"], reason="invalid_email", source_topic="commerce.raw.v1"
        )
        == 1
    )
    assert (
        sample(
            found["cartwright_dotdigital_writes"], lane="batch", kind="insight", answer="accepted"
        )
        == 3
    )
    propagation = [
        s
        for s in found["cartwright_latency_seconds"].samples
        if s.name == "cartwright_latency_seconds_count"
    ]
    assert [(s.labels["step"], s.value) for s in propagation] == [
        ("consent.propagation.dotdigital_to_commerce", 3.0)
    ]
    # Partition 1 has committed nothing yet: its end is known, its lag is not.
    assert sample(found["cartwright_consumer_lag"], topic=writes, partition="0") == 20
    assert [s.labels["partition"] for s in found["cartwright_consumer_lag"].samples] == ["0"]
    assert sample(found["cartwright_partition_end_offset"], topic=writes, partition="1") == 7
