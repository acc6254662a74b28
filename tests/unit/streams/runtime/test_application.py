"""The worker's web server listens where it is told and serves none of Faust's own views."""

from __future__ import annotations

from typing import Any

import pytest

from streams.app import create_app, faust_options
from streams.runtime.producer import LINGER_MS, MAX_BATCH_BYTES
from streams.settings import Settings, WebSettings


@pytest.fixture
def app() -> Any:
    return create_app(Settings(web=WebSettings(host="127.0.0.2", port=6123)))


def test_the_server_binds_to_the_configured_host_only(app: Any) -> None:
    options = faust_options(Settings(web=WebSettings(host="127.0.0.2", port=6123)))

    assert (options["web_bind"], options["web_port"]) == ("127.0.0.2", 6123)
    assert (app.conf.web_bind, app.conf.web_port) == ("127.0.0.2", 6123)


def test_the_worker_batches_what_it_produces_as_the_plain_producers_do(app: Any) -> None:
    # Faust's default of 16 KB held three or four Commerce events a batch (make bench-ingest).
    assert app.conf.producer_max_batch_size == MAX_BATCH_BYTES == 256 * 1024
    assert app.conf.producer_linger == LINGER_MS / 1000


def test_faust_serves_none_of_its_own_views(app: Any) -> None:
    web = app.web
    web.blueprints.apply(web)

    assert "/ops/health" in web.views
    # Ours: the ops pages, Prometheus's /metrics, the webhook and the storefront collector.
    assert [
        path
        for path in web.views
        if path != "/metrics" and not path.startswith(("/ops/", "/webhooks/", "/storefront/"))
    ] == []
    assert not any(
        getattr(app.conf, flag)
        for flag in (
            "web_router_enabled",
            "web_tables_enabled",
            "web_stats_enabled",
            "web_graph_enabled",
            "web_metrics_enabled",
        )
    )
