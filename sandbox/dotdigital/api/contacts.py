"""v3 contacts: upsert and read by email, bulk import and its status, the change feed."""

from __future__ import annotations

import base64

from aiohttp import web

from sandbox.dotdigital.account.contact import (
    ContactRejected,
    IdentifierTaken,
    MergeOption,
    parse_change,
)
from sandbox.dotdigital.account.jobs import JobKind, contact_import
from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.timestamps import parse_iso
from sandbox.dotdigital.api.errors import ApiError, v3_detail, v3_error
from sandbox.dotdigital.api.views import V3_PARTS, contact_v3
from sandbox.dotdigital.api.wire import Endpoint, json_response, read_object, sandbox_of

BAD_JSON = v3_error(400, "contacts:badJson", "The request body is not a valid JSON object.")
FEED_MAX_LIMIT = 5000
FEED_DEFAULT_LIMIT = 1000


def _rejected(error: ContactRejected) -> ApiError:
    if isinstance(error, IdentifierTaken):
        return v3_error(
            409,
            "contacts:idAlreadyExists",
            error.description,
            [v3_detail(error.item, error.description)],
        )
    return v3_error(
        400,
        "contacts:validationFailed",
        error.description,
        [v3_detail(error.item, error.description)],
    )


def _merge_option(text: str) -> MergeOption:
    try:
        return MergeOption.parse(text)
    except ValueError:
        raise _rejected(
            ContactRejected("merge-option", f"Unknown merge option {text!r}.")
        ) from None


def _not_found(email: str) -> ApiError:
    return v3_error(
        404,
        "contacts:contactNotFound",
        "Contact not found.",
        [v3_detail(email, "No contact has this email.")],
    )


async def upsert_contact(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    option = _merge_option(request.query.get("merge-option", "overwrite"))
    body = await read_object(request, BAD_JSON)
    try:
        change = parse_change(body)
        contact, created = sandbox.contacts.upsert(request.match_info["email"], change, option)
    except ContactRejected as error:
        raise _rejected(error) from None
    return json_response(contact_v3(contact), status=201 if created else 200)


async def get_contact(request: web.Request) -> web.StreamResponse:
    email = request.match_info["email"]
    contact = sandbox_of(request).contacts.get(email)
    if contact is None:
        raise _not_found(email)
    return json_response(contact_v3(contact))


async def submit_import(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    body = await read_object(request, BAD_JSON)
    rows = body.get("contacts")
    if not isinstance(rows, list):
        raise _rejected(ContactRejected("contacts", "Must be a list of contacts."))
    option = _merge_option(str(body.get("mergeOption", "overwrite")))
    if not sandbox.imports.has_room(JobKind.CONTACTS):
        raise v3_error(
            429, "contacts:tooManyActiveImports", "Too many contact imports are in progress."
        )
    store = sandbox.contacts
    job = sandbox.imports.submit(JobKind.CONTACTS, lambda: contact_import(store, rows, option), {})
    return json_response({"importId": job.import_id}, status=202)


async def import_status(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    import_id = request.match_info["importId"]
    job = sandbox.imports.poll(JobKind.CONTACTS, import_id, failure=sandbox.import_failure())
    if job is None:
        raise v3_error(
            404,
            "contacts:importNotFound",
            "Import not found.",
            [v3_detail(import_id, "No contact import has this id.")],
        )
    return json_response(job.body())


def encode_marker(updated: float, contact_id: int) -> str:
    """An opaque keyset marker: the last row's (updated, contactId)."""
    return base64.urlsafe_b64encode(f"{updated!r}|{contact_id}".encode()).decode()


def decode_marker(marker: str) -> tuple[float, int]:
    """The keyset behind a marker; ValueError (base64, UTF-8 and unpacking errors are ValueErrors)
    when it is not one of ours."""
    updated, contact_id = base64.urlsafe_b64decode(marker.encode()).decode().split("|")
    return float(updated), int(contact_id)


async def change_feed(request: web.Request) -> web.StreamResponse:
    query = request.query
    try:
        modified = query.get("~modified", "gte::1970-01-01T00:00:00Z")
        operator, _, moment = modified.partition("::")
        if operator != "gte":
            raise ValueError("only gte:: is supported")
        since = parse_iso(moment)
        limit = int(query.get("limit", FEED_DEFAULT_LIMIT))
        if not 1 <= limit <= FEED_MAX_LIMIT:
            raise ValueError(f"limit must be 1..{FEED_MAX_LIMIT}")
        after = decode_marker(query["marker"]) if "marker" in query else None
    except ValueError as error:
        raise _rejected(ContactRejected("query", str(error))) from None
    parts = frozenset(query.get("include", "").split(",")) & V3_PARTS
    rows, more = sandbox_of(request).contacts.modified_since(since, after, limit)
    body: dict[str, object] = {"_items": [contact_v3(c, parts) for c in rows]}
    if more:
        last = rows[-1]
        body["_links"] = {"next": {"marker": encode_marker(last.updated, last.contact_id)}}
    return json_response(body)


ENDPOINTS = (
    Endpoint("PATCH", "/contacts/v3/email/{email}", upsert_contact, Tier.MEDIUM),
    Endpoint("GET", "/contacts/v3/email/{email}", get_contact, Tier.MEDIUM),
    Endpoint("PUT", "/contacts/v3/import", submit_import, Tier.LOW),
    Endpoint("GET", "/contacts/v3/import/{importId}", import_status, Tier.MEDIUM),
    Endpoint("GET", "/contacts/v3", change_feed, Tier.LOW),
)
