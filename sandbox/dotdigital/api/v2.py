"""v2: account-info, global unsubscribe and resubscribe, the consent feeds, program enrolments."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.account.contact import ContactRejected
from sandbox.dotdigital.account.programs import EnrolmentRejected
from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.timestamps import parse_iso
from sandbox.dotdigital.api.errors import ApiError, v2_error
from sandbox.dotdigital.api.views import (
    contact_v2,
    enrolment_v2,
    suppression_feed_v2,
    suppression_v2,
)
from sandbox.dotdigital.api.wire import Endpoint, Handler, json_response, read_object, sandbox_of

BAD_JSON = v2_error(400, "The request body is not a valid JSON object. ERROR_PARAMETER_INVALID")
INVALID_EMAIL = v2_error(400, "Email is not a valid email address. ERROR_PARAMETER_INVALID")
FEED_MAX_SELECT = 1000


def _invalid(what: str) -> ApiError:
    return v2_error(400, f"{what} ERROR_PARAMETER_INVALID")


def _own_origin(request: web.Request, config: SandboxConfig) -> URL:
    """This server's origin as the caller reached it, on the account's region host when the
    region is checked (discovery may have come in through another host)."""
    origin = request.url.origin()
    return origin.with_host(config.region_host) if config.check_region_host else origin


async def account_info(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    config = sandbox.config
    endpoint = config.api_endpoint or str(_own_origin(request, config))
    used = sandbox.limiter.calls_in_last_hour()
    # Values are strings, as Dotdigital sends them, whatever the declared type.
    properties = [
        ("ApiEndpoint", "String", endpoint.rstrip("/") + "/"),
        ("MainEmail", "String", config.main_email),
        ("APILocale", "String", config.api_locale),
        ("CurrencyCode", "String", config.currency_code),
        ("TimeZoneIana", "String", config.time_zone_iana),
        ("ApiCallsInLastHour", "Int32", str(used)),
        ("ApiCallsRemaining", "Int32", str(max(0, sandbox.limiter.hourly_limit - used))),
    ]
    return json_response(
        {
            "id": config.account_id,
            "properties": [{"name": n, "type": t, "value": v} for n, t, v in properties],
        }
    )


async def unsubscribe(request: web.Request) -> web.StreamResponse:
    body = await read_object(request, BAD_JSON)
    email = body.get("email")
    if not isinstance(email, str):
        raise INVALID_EMAIL
    try:
        contact, entry = sandbox_of(request).contacts.unsubscribe(email)
    except ContactRejected:
        raise INVALID_EMAIL from None
    return json_response(suppression_v2(entry, contact))


def _v2_data_fields(raw: object) -> dict[str, Any]:
    """v2 sends data fields as `[{"key", "value"}]`."""
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(
        isinstance(f, dict) and isinstance(f.get("key"), str) for f in raw
    ):
        raise _invalid("dataFields must be a list of key/value pairs.")
    return {f["key"]: f.get("value") for f in raw}


def _resubscribe(*, no_challenge: bool) -> Handler:
    """`/v2/contacts/resubscribe` (challenges an unsubscribed contact, as configured) or its
    `-with-no-challenge` variant (adds them back at once)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await resubscribe(request, no_challenge=no_challenge)

    return handler


async def resubscribe(request: web.Request, *, no_challenge: bool) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    body = await read_object(request, BAD_JSON)
    wanted = body.get("unsubscribedContact")
    if not isinstance(wanted, dict):
        raise _invalid("unsubscribedContact is required.")
    email = wanted.get("email")
    if not isinstance(email, str):
        raise INVALID_EMAIL
    fields = _v2_data_fields(wanted.get("dataFields"))
    try:
        contact, outcome = sandbox.contacts.resubscribe(
            email,
            fields,
            challenge=sandbox.config.resubscribe_challenges and not no_challenge,
        )
    except ContactRejected:
        raise INVALID_EMAIL from None
    return json_response({"contact": contact_v2(contact), "status": outcome.value})


def _feed(reasons: frozenset[str] | None) -> Handler:
    """A v2 consent feed handler limited to `reasons` (None = every suppression)."""

    async def feed(request: web.Request) -> web.StreamResponse:
        store = sandbox_of(request).contacts
        try:
            since = parse_iso(request.match_info["date"])
            select = int(request.query.get("select", FEED_MAX_SELECT))
            skip = int(request.query.get("skip", 0))
        except ValueError:
            raise _invalid("The date, select or skip is not valid.") from None
        if not 1 <= select <= FEED_MAX_SELECT or skip < 0:
            raise _invalid(f"select must be 1..{FEED_MAX_SELECT} and skip at least 0.")
        return json_response(suppression_feed_v2(store, since, reasons, skip, select))

    return feed


async def enrol(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    body = await read_object(request, v2_error(400, "Error: ERROR_ENROLMENT_INVALID"))
    try:
        enrolment = sandbox.programs.enrol(body, sandbox.contacts)
    except EnrolmentRejected as error:
        raise v2_error(error.status, f"Error: {error.code}") from None
    await sandbox.faults.enrolment_answered()
    return json_response(enrolment_v2(enrolment), status=201)


ACCOUNT_INFO_PATH = "/v2/account-info"
ENROLMENTS_PATH = "/v2/programs/enrolments"

ENDPOINTS = (
    Endpoint("GET", ACCOUNT_INFO_PATH, account_info, Tier.HIGH),
    Endpoint("POST", "/v2/contacts/unsubscribe", unsubscribe, Tier.MEDIUM),
    Endpoint("POST", "/v2/contacts/resubscribe", _resubscribe(no_challenge=False), Tier.MEDIUM),
    Endpoint(
        "POST",
        "/v2/contacts/resubscribe-with-no-challenge",
        _resubscribe(no_challenge=True),
        Tier.MEDIUM,
    ),
    Endpoint(
        "GET",
        "/v2/contacts/unsubscribed-since/{date}",
        _feed(frozenset({"Unsubscribed"})),
        Tier.LOW,
    ),
    Endpoint("GET", "/v2/contacts/suppressed-since/{date}", _feed(None), Tier.LOW),
    Endpoint("POST", ENROLMENTS_PATH, enrol, Tier.MEDIUM),
)
