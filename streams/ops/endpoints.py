"""Ops endpoints on the worker: the status page, health, status, Prometheus metrics and table
digests, protected by the ops token when one is set."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from faust.web import Request, Response, View
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from streams.ops.partition_lag import PartitionLag, assigned, leads
from streams.ops.status_page import StatusPage, StatusSources
from streams.ops.table_digest import held_digests
from streams.runtime.metrics import Metrics
from streams.settings import Settings

# The status page's session cookie, set by `POST /ops/login`: a browser cannot send a bearer
# header on a plain link or form.
COOKIE = "cartwright_ops"
# A login form's body is one short field; anything longer is not a token.
MAX_LOGIN_BYTES = 4096
# The page shows emails and what Dotdigital holds: no cache keeps it, no referrer carries a
# traced email elsewhere, and no script runs in it, even one that slipped past the escaping.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def session_value(token: str) -> str:
    """The cookie's value: a digest of the token, so the cookie jar never holds the token."""
    return hmac.new(token.encode(), b"cartwright status page", hashlib.sha256).hexdigest()


def _page_authorized(request: Request, token: str | None) -> bool:
    if token is None or _authorized(request, token):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def register_ops(
    app: Any,
    settings: Settings,
    metrics: Metrics,
    *,
    budget: Callable[[], dict[str, Any] | None] = lambda: None,
    sources: StatusSources | None = None,
) -> None:
    """`GET /ops/` (the status page; `POST /ops/login`), `GET /ops/health`, `GET /ops/status`,
    `GET /metrics` and `GET /ops/tables`; `budget()` is this worker's share of the Dotdigital
    budgets (None before its first assignment), `sources` what the page reads beyond the worker
    (exceptions, warnings, drift, trace; "nothing yet" for any not given)."""
    token = settings.web.ops_token.get_secret_value() if settings.web.ops_token else None
    metrics.registry.register(PartitionLag(lambda: assigned(app), app.monitor))
    page = StatusPage(app, settings, metrics, budget, sources or StatusSources())

    class Page(View):
        async def get(self, request: Request) -> Response:
            if not _page_authorized(request, token):
                return self.html(page.login(failed=False), status=401, headers=PAGE_HEADERS)
            html = await page.render(request.query.get("trace"))
            return self.html(html, headers=PAGE_HEADERS)

    class Login(View):
        async def get(self, request: Request) -> Response:
            return self.html(page.login(failed=False), headers=PAGE_HEADERS)

        async def post(self, request: Request) -> Response:
            if token is None:
                return self.html("", status=303, headers={"Location": "/ops/"})
            if int(request.headers.get("Content-Length") or 0) > MAX_LOGIN_BYTES:
                return self.html(page.login(failed=True), status=413, headers=PAGE_HEADERS)
            given = (await request.post()).get("token")
            if not isinstance(given, str) or not hmac.compare_digest(
                given.encode(), token.encode()
            ):
                return self.html(page.login(failed=True), status=401, headers=PAGE_HEADERS)
            # HttpOnly: no script reads it; SameSite=Strict: no other site's link or form
            # sends it; /ops/ only: the webhook and the collector never see it.
            cookie = f"{COOKIE}={session_value(token)}; HttpOnly; SameSite=Strict; Path=/ops/"
            headers = {"Location": "/ops/", "Set-Cookie": cookie}
            return self.html("", status=303, headers=headers)

    class Health(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            return self.json({"status": "ok"})

    class Status(View):
        async def get(self, request: Request) -> Response:
            if not _authorized(request, token):
                return self.json({"error": "unauthorized"}, status=401)
            holding = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned(app))
            return self.json(
                {
                    **metrics.snapshot(),
                    "app": settings.kafka.app_id,
                    "bootstrap": settings.kafka.bootstrap,
                    "dotdigital": settings.dotdigital.base_url,
                    "assigned": holding,
                    # The leader polls Dotdigital's suppression feeds; one worker in the group.
                    "leader": leads(app),
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

    app.page("/ops/")(Page)
    app.page("/ops/login")(Login)
    app.page("/ops/health")(Health)
    app.page("/ops/status")(Status)
    app.page("/metrics")(Prometheus)
    app.page("/ops/tables")(Tables)
