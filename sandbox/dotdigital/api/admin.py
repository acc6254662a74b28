"""The `/_sandbox/` admin surface: reset, faults, limits, stats, programs, Dotdigital-side events,
and every contact with its records (for tests that must not spend the account's call budget).

Dotdigital-side events: a status change, a click on a resubscribe confirmation email.
Not part of Dotdigital: no Basic auth, no rate limits, never faulted.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.dotdigital.account.config import RateMode, ResetFormat
from sandbox.dotdigital.account.contact import ContactRejected
from sandbox.dotdigital.account.faults import FaultSettings
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.api.views import contact_v3, enrolment_v2, record_v3
from sandbox.dotdigital.api.wire import Handler, json_response, sandbox_of

Model = TypeVar("Model", bound=BaseModel)


class LimitsUpdate(BaseModel):
    """`POST /_sandbox/limits`: only the fields sent change; counting restarts."""

    model_config = ConfigDict(extra="forbid")

    tier_budgets: dict[str, Annotated[int, Field(ge=0)] | None] | None = None
    rate_mode: RateMode | None = None
    reset_format: ResetFormat | None = None
    flat_hourly_limit: int | None = Field(default=None, ge=1)


class StatusChange(BaseModel):
    """`POST /_sandbox/contacts/{email}/status`."""

    model_config = ConfigDict(extra="forbid")

    status: str


class RecordDeletion(BaseModel):
    """`POST /_sandbox/contacts/{email}/insight/delete`."""

    model_config = ConfigDict(extra="forbid")

    collection: str
    key: str


class ProgramsUpdate(BaseModel):
    """`POST /_sandbox/programs`: program id -> active; replaces the whole set."""

    model_config = ConfigDict(extra="forbid")

    programs: dict[int, bool]


def _bad_request(error: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(body=orjson.dumps({"error": error}), content_type="application/json")


async def _parse(request: web.Request, model: type[Model]) -> Model:
    """The body as `model` (an empty body is `{}`), or 400 `{"error"}`."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as error:
        raise _bad_request(str(error)) from None


def _limits(sandbox: Sandbox) -> dict[str, Any]:
    limiter = sandbox.limiter
    return {
        "rate_mode": limiter.mode,
        "tier_budgets": dict(limiter.budgets),
        "reset_format": limiter.reset_format,
        "flat_hourly_limit": limiter.hourly_limit,
    }


async def reset(request: web.Request) -> web.StreamResponse:
    sandbox_of(request).reset()
    return json_response({"reset": True})


async def get_faults(request: web.Request) -> web.StreamResponse:
    return json_response(sandbox_of(request).faults.settings.model_dump())


async def set_faults(request: web.Request) -> web.StreamResponse:
    faults = sandbox_of(request).faults
    faults.configure(await _parse(request, FaultSettings))
    return json_response(faults.settings.model_dump())


async def get_limits(request: web.Request) -> web.StreamResponse:
    return json_response(_limits(sandbox_of(request)))


async def set_limits(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    update = await _parse(request, LimitsUpdate)
    sandbox.limiter.configure(
        budgets=update.tier_budgets,
        mode=update.rate_mode,
        reset_format=update.reset_format,
        hourly_limit=update.flat_hourly_limit,
    )
    return json_response(_limits(sandbox))


async def stats(request: web.Request) -> web.StreamResponse:
    return json_response(sandbox_of(request).stats())


async def contacts(request: web.Request) -> web.StreamResponse:
    """Every contact as v3 shows it, with its contact-scoped insight records per collection."""
    sandbox = sandbox_of(request)
    rows = [
        {
            **contact_v3(contact),
            "insight": {
                name: [record_v3(r) for r in records]
                for name, records in sandbox.insight.owned_by(contact.contact_id).items()
            },
        }
        for contact in sandbox.contacts.all()
    ]
    return json_response({"contacts": rows})


async def set_contact_status(request: web.Request) -> web.StreamResponse:
    change = await _parse(request, StatusChange)
    try:
        contact = sandbox_of(request).contacts.force_status(
            request.match_info["email"], change.status
        )
    except ContactRejected as error:
        raise _bad_request(str(error)) from None
    return json_response(contact_v3(contact))


async def confirm_resubscribe(request: web.Request) -> web.StreamResponse:
    """The person clicked the confirmation email a challenged resubscribe sent them."""
    try:
        contact = sandbox_of(request).contacts.confirm(request.match_info["email"])
    except ContactRejected as error:
        raise web.HTTPConflict(
            body=orjson.dumps({"error": str(error)}), content_type="application/json"
        ) from None
    return json_response(contact_v3(contact))


async def delete_record(request: web.Request) -> web.StreamResponse:
    """A contact's insight record deleted in Dotdigital's UI, behind the integration's back
    (reconciliation tests plant drift with it); 404 when there is no such record."""
    sandbox = sandbox_of(request)
    deletion = await _parse(request, RecordDeletion)
    contact = sandbox.contacts.get(request.match_info["email"])
    collection = sandbox.insight.get(deletion.collection)
    if (
        contact is None
        or collection is None
        or not collection.delete(contact.contact_id, deletion.key)
    ):
        raise web.HTTPNotFound(
            body=orjson.dumps({"error": "no such record"}), content_type="application/json"
        )
    return json_response({"deleted": deletion.model_dump()})


async def get_programs(request: web.Request) -> web.StreamResponse:
    return json_response({"programs": sandbox_of(request).programs.programs})


async def set_programs(request: web.Request) -> web.StreamResponse:
    book = sandbox_of(request).programs
    book.programs = dict((await _parse(request, ProgramsUpdate)).programs)
    return json_response({"programs": book.programs})


async def enrolments(request: web.Request) -> web.StreamResponse:
    rows = [
        {
            **enrolment_v2(e),
            "contactStatuses": {str(k): v for k, v in e.contact_statuses.items()},
        }
        for e in sandbox_of(request).programs.enrolments
    ]
    return json_response({"enrolments": rows})


async def finish_imports(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    finished = sandbox.imports.finish_all(failure=sandbox.import_failure())
    return json_response({"finished": finished})


PREFIX = "/_sandbox/"

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/_sandbox/reset", reset),
    ("GET", "/_sandbox/faults", get_faults),
    ("POST", "/_sandbox/faults", set_faults),
    ("GET", "/_sandbox/limits", get_limits),
    ("POST", "/_sandbox/limits", set_limits),
    ("GET", "/_sandbox/stats", stats),
    ("GET", "/_sandbox/contacts", contacts),
    ("POST", "/_sandbox/contacts/{email}/status", set_contact_status),
    ("POST", "/_sandbox/contacts/{email}/confirm", confirm_resubscribe),
    ("POST", "/_sandbox/contacts/{email}/insight/delete", delete_record),
    ("GET", "/_sandbox/programs", get_programs),
    ("POST", "/_sandbox/programs", set_programs),
    ("GET", "/_sandbox/enrolments", enrolments),
    ("POST", "/_sandbox/imports/finish", finish_imports),
)
