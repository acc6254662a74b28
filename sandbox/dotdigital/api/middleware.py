"""The gate every Dotdigital call passes: faults, region check, Basic auth, rate limits, errors.

Order for a Dotdigital path: injected faults (delay, dropped connection, 5xx, forced 429) →
region Host check (403; account-info also answers on the discovery host) → Basic auth (401) →
rate limit (429, or the flat cap's v2 error) → handler. Responses that passed the limiter carry
the four X-RateLimit headers; faults, 403 and 401 answers do not (the account is not known yet).
`/_sandbox/` paths skip the gate entirely.
"""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import BasicAuth, hdrs, web

from sandbox.dotdigital.account.faults import HTML_ERROR_PAGE, JSON_ERROR_BODY, FaultDecision
from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.api.admin import PREFIX as ADMIN_PREFIX
from sandbox.dotdigital.api.errors import UNAUTHORIZED_MESSAGE, ApiError, for_path, v2_error
from sandbox.dotdigital.api.v2 import ACCOUNT_INFO_PATH, ENROLMENTS_PATH
from sandbox.dotdigital.api.wire import STATE, TIERS, Handler, json_response

APIUSAGE_EXCEEDED = (
    "Your account has generated excess API activity and is being temporarily capped. "
    "Please contact support. ERROR_APIUSAGE_EXCEEDED"
)


def _tier(request: web.Request) -> Tier:
    """The tier of the matched route; unmatched paths (404/405) count as Medium."""
    resource = request.match_info.route.resource
    if resource is None:
        return Tier.MEDIUM
    return request.app[TIERS].get((request.method, resource.canonical), Tier.MEDIUM)


def _rate_limited(path: str) -> ApiError:
    service = path.strip("/").split("/")[0]
    return for_path(
        path,
        429,
        "Too many requests. ERROR_RATE_LIMIT_EXCEEDED",
        f"{service}:rateLimitExceeded",
        "The call budget for this tier is spent; retry after X-RateLimit-Reset.",
    )


def _fault_response(decision: FaultDecision, status: int) -> web.Response:
    if decision.error_body == "html":
        return web.Response(status=status, text=HTML_ERROR_PAGE, content_type="text/html")
    if decision.error_body == "json":
        return web.Response(status=status, body=JSON_ERROR_BODY, content_type="application/json")
    return web.Response(status=status)


def _authorised(request: web.Request, sandbox: Sandbox) -> bool:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    try:
        given = BasicAuth.decode(header)
    except ValueError:
        return False
    config = sandbox.config
    return hmac.compare_digest(given.login, config.username) and hmac.compare_digest(
        given.password, config.password
    )


def _right_region(request: web.Request, sandbox: Sandbox) -> bool:
    config = sandbox.config
    if not config.check_region_host:
        return True
    host = (request.url.host or "").lower()
    if request.path == ACCOUNT_INFO_PATH and host == config.discovery_host.lower():
        return True  # region discovery works on r1 for accounts of every region
    return host == config.region_host.lower()


def _error_response(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    response = json_response(error.body, status=error.status)
    response.headers.update(headers or {})
    return response


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    sandbox = request.app[STATE]
    tier = _tier(request)

    decision = sandbox.faults.decide()
    if decision.delay_seconds:
        await asyncio.sleep(decision.delay_seconds)
    if decision.drop_connection and request.transport is not None:
        request.transport.close()
        return web.Response(status=500)  # never reaches the client: the socket is gone
    if decision.error_status is not None:
        return _fault_response(decision, decision.error_status)
    if decision.rate_limited:
        return _error_response(_rate_limited(request.path), sandbox.limiter.exhausted_headers(tier))

    if not _right_region(request, sandbox):
        return _error_response(
            for_path(
                request.path,
                403,
                "This account belongs to another region. ERROR_FORBIDDEN",
                "forbidden",
                "This account is not hosted in this region.",
            )
        )
    if not _authorised(request, sandbox):
        return _error_response(v2_error(401, UNAUTHORIZED_MESSAGE))

    sandbox.imports.tick(failure=sandbox.import_failure())
    verdict = sandbox.limiter.charge(tier, hourly=request.path != ENROLMENTS_PATH)
    if verdict.hourly_cap:
        return _error_response(
            v2_error(sandbox.config.flat_error_status, APIUSAGE_EXCEEDED), verdict.headers
        )
    if not verdict.allowed:
        return _error_response(_rate_limited(request.path), verdict.headers)

    try:
        response = await handler(request)
    except ApiError as error:
        return _error_response(error, verdict.headers)
    except web.HTTPException as error:
        error.headers.update(verdict.headers)
        raise
    response.headers.update(verdict.headers)
    return response
