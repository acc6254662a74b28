"""v3 insight data: bulk import and its status, single records for contacts and the account."""

from __future__ import annotations

from aiohttp import web

from sandbox.dotdigital.account.insight import (
    Collection,
    CollectionRejected,
    FailureReason,
    Problem,
    json_problem,
    judge_record,
    key_problem,
)
from sandbox.dotdigital.account.jobs import JobKind, insight_import
from sandbox.dotdigital.account.ratelimit import Tier
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.api.errors import ApiError, v3_detail, v3_error
from sandbox.dotdigital.api.views import record_v3
from sandbox.dotdigital.api.wire import Endpoint, json_response, read_json, sandbox_of

BAD_JSON = v3_error(400, "insightData:badJson", "The request body is not valid JSON.")


def _collection_error(error: CollectionRejected) -> ApiError:
    return v3_error(error.status, error.code, error.description)


def _problem_error(problem: Problem) -> ApiError:
    return v3_error(
        400,
        "insightData:badJson",
        f"The record breaks the rule {problem.reason.value}.",
        [v3_detail(problem.path, problem.reason.value)],
    )


async def submit_import(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    body = await read_json(request, BAD_JSON)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise v3_error(400, "insightData:badJson", "The body needs collectionName and records.")
    if not sandbox.imports.has_room(JobKind.INSIGHT):
        raise v3_error(
            429, "insightData:tooManyActiveImports", "Too many insight imports are in progress."
        )
    try:
        collection = sandbox.insight.ensure(
            body.get("collectionName"), body.get("collectionScope"), body.get("collectionType")
        )
    except CollectionRejected as error:
        raise _collection_error(error) from None

    def find_contact(email: str) -> int | None:
        contact = sandbox.contacts.get(email)
        return None if contact is None else contact.contact_id

    # Records are judged now (a contact must exist when the import is submitted) and stored
    # only when the job finishes, so reads show them only after a poll answers Finished.
    limit = sandbox.config.max_insight_string_length
    verdicts = [judge_record(raw, collection.scope, find_contact, limit) for raw in body["records"]]
    clock = sandbox.clock
    job = sandbox.imports.submit(
        JobKind.INSIGHT,
        lambda: insight_import(collection, verdicts, clock()),
        {"collectionName": collection.name},
    )
    return json_response({"importId": job.import_id}, status=202)


async def import_status(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    import_id = request.match_info["importId"]
    job = sandbox.imports.poll(JobKind.INSIGHT, import_id, failure=sandbox.import_failure())
    if job is None:
        raise v3_error(
            404,
            "insightData:importNotFound",
            "Import not found.",
            [v3_detail(import_id, "No insight import has this id.")],
        )
    return json_response(job.body())


def _contact_owner(sandbox: Sandbox, email: str) -> int:
    contact = sandbox.contacts.get(email)
    if contact is None:
        raise v3_error(
            404,
            "insightData:contactNotFound",
            "Contact not found.",
            [v3_detail(email, "No contact has this email.")],
        )
    return contact.contact_id


def _collection(sandbox: Sandbox, name: str, scope: str) -> Collection:
    collection = sandbox.insight.get(name)
    if collection is None:
        raise v3_error(
            404,
            "insightData:collectionNotFound",
            "Collection not found.",
            [v3_detail(name, "No collection has this name.")],
        )
    if collection.scope != scope:
        raise v3_error(
            400,
            "insightData:collectionScopeMismatch",
            f"Collection {name} has scope {collection.scope}, not {scope}.",
        )
    return collection


def _target(request: web.Request) -> tuple[Collection, int | None]:
    """The collection and owner a record path names (contact paths have an email)."""
    sandbox = sandbox_of(request)
    info = request.match_info
    if "email" in info:
        owner = _contact_owner(sandbox, info["email"])
        return _collection(sandbox, info["collection"], "contact"), owner
    return _collection(sandbox, info["collection"], "account"), None


async def put_record(request: web.Request) -> web.StreamResponse:
    sandbox = sandbox_of(request)
    collection, owner = _target(request)
    key = request.match_info["key"]
    doc = await read_json(request, BAD_JSON)
    if not isinstance(doc, dict):
        raise _problem_error(Problem(FailureReason.JSON_INVALID, "$"))
    problem = key_problem(key) or json_problem(doc, sandbox.config.max_insight_string_length)
    if problem is not None:
        raise _problem_error(problem)
    created = collection.put(owner, key, doc, sandbox.clock())
    return web.Response(status=201 if created else 204)


async def get_record(request: web.Request) -> web.StreamResponse:
    collection, owner = _target(request)
    key = request.match_info["key"]
    record = collection.get(owner, key)
    if record is None:
        raise v3_error(
            404,
            "insightData:recordNotFound",
            "Record not found.",
            [v3_detail(key, f"No record has this key in {collection.name}.")],
        )
    return json_response(record_v3(record))


async def list_records(request: web.Request) -> web.StreamResponse:
    collection, owner = _target(request)
    return json_response({"_items": [record_v3(r) for r in collection.owned_by(owner)]})


_CONTACT_RECORD = "/insightData/v3/contacts/email/{email}/{collection}/{key}"
_ACCOUNT_RECORD = "/insightData/v3/account/{collection}/{key}"

ENDPOINTS = (
    Endpoint("PUT", "/insightData/v3/import", submit_import, Tier.LOW),
    Endpoint("GET", "/insightData/v3/import/{importId}", import_status, Tier.MEDIUM),
    Endpoint("PUT", _CONTACT_RECORD, put_record, Tier.MEDIUM),
    Endpoint("GET", _CONTACT_RECORD, get_record, Tier.MEDIUM),
    Endpoint(
        "GET", "/insightData/v3/contacts/email/{email}/{collection}", list_records, Tier.MEDIUM
    ),
    Endpoint("PUT", _ACCOUNT_RECORD, put_record, Tier.MEDIUM),
    Endpoint("GET", _ACCOUNT_RECORD, get_record, Tier.MEDIUM),
    Endpoint("GET", "/insightData/v3/account/{collection}", list_records, Tier.LOW),
)
