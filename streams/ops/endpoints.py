"""Ops endpoints on the worker: health, status, Prometheus metrics and table digests, protected
by a bearer token when one is set."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from faust.web import Request, Response, View
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from streams.ops.partition_lag import PartitionLag
from streams.ops.table_digest import held_digests
from streams.runtime.metrics import Metrics
from streams.settings import Settings


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def register_ops(
    app: Any,
    settings: Settings,
    metrics: Metrics,
    *,
    budget: Callable[[], dict[str, Any] | None] = lambda: None,
) -> None:
    """`GET /ops/health`, `GET /ops/status`, `GET /metrics` and `GET /ops/tables`; `budget()` is
    this worker's share of the Dotdigital budgets (None before its first assignment)."""
    token = settings.web.ops_token.get_secret_value() if settings.web.ops_token else None
    metrics.registry.register(PartitionLag(lambda: app.consumer.assignment(), app.monitor))

    class Health(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            return self.json({"status": "ok"})

    class Status(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            assigned = sorted(f"{tp.topic}[{tp.partition}]" for tp in app.consumer.assignment())
            return self.json(
                {
                    **metrics.snapshot(),
                    "app": settings.kafka.app_id,
                    "bootstrap": settings.kafka.bootstrap,
                    "dotdigital": settings.dotdigital.base_url,
                    "assigned": assigned,
                    # The leader polls Dotdigital's suppression feeds; one worker in the group.
                    "leader": app.is_leader(),
                    "dotdigital_budget": budget(),
                }
            )

    class Prometheus(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            # The text format every Prometheus scrapes; in the headers, as aiohttp refuses a
            # content type that names its charset.
            return self.bytes(
                metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
            )

    class Tables(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            # Counts and digests only: the tables hold emails and consent (README, "Operations").
            return self.json({"app": settings.kafka.app_id, **held_digests(app)})

    app.page("/ops/health")(Health)
    app.page("/ops/status")(Status)
    app.page("/metrics")(Prometheus)
    app.page("/ops/tables")(Tables)
