"""Both sandboxes answered in-process at the clients' transport seam: the real clients, no server.

`InProcessDotdigital` answers the real `DotdigitalClient` over `httpx.MockTransport` from a
Dotdigital sandbox account's state (its `ContactStore`, import board and program book, with the
account's own consent rules); `InProcessCommerce` answers the real `CommerceClient` from the
Commerce store simulator, as `sandbox/commerce`'s REST does. Auth, paths, bodies, answers and
error mapping run for real; nothing listens on a port and no request leaves the process, so a
hypothesis test can run thousands of them. Only the endpoints a stream step calls are answered:
any other request raises `UnexpectedRequest`, which no client catches, so it fails the test.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from sandbox.commerce.model.customers import Customer, EmailTaken
from sandbox.commerce.model.wire import rest
from sandbox.commerce.simulator.store import Store
from sandbox.dotdigital.account.contact import (
    Contact,
    ContactRejected,
    IdentifierTaken,
    MergeOption,
    parse_change,
)
from sandbox.dotdigital.account.jobs import JobKind, contact_import
from sandbox.dotdigital.account.programs import EnrolmentRejected
from sandbox.dotdigital.account.state import Sandbox
from sandbox.dotdigital.account.timestamps import parse_iso
from sandbox.dotdigital.api.errors import UNAUTHORIZED_MESSAGE, ApiError, v2_error, v3_error
from sandbox.dotdigital.api.views import (
    contact_v2,
    contact_v3,
    enrolment_v2,
    suppression_feed_v2,
    suppression_v2,
)
from tests.support.accounts import COMMERCE_TOKEN
from tests.support.dotdigital import make_client as dotdigital_client
from tests.support.faketime import FakeTime

Segments = list[str]
Answer = Callable[[httpx.Request, Segments], httpx.Response]
# A route's path, one entry per segment; "*" matches any one segment, handed to the answer.
Route = tuple[str, tuple[str, ...]]
FEED_MAX_SELECT = 1000
SHOP_URL = "http://shop.example.com"


class UnexpectedRequest(AssertionError):
    """A request the in-process API does not answer: the code under test called something new."""


def reply(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        headers={"Content-Type": "application/json"},
    )


def segments(request: httpx.Request) -> Segments:
    """The request path's segments, each percent-decoded (an email may hold `/` or `+`)."""
    raw = request.url.raw_path.decode("ascii").partition("?")[0]
    return [unquote(part) for part in raw.strip("/").split("/")]


def route(request: httpx.Request, routes: dict[Route, Answer], path: Segments) -> httpx.Response:
    """The answer of the route that matches, given the segments its `*`s matched."""
    for (method, pattern), answer in routes.items():
        if method != request.method or len(pattern) != len(path):
            continue
        if all(p in ("*", s) for p, s in zip(pattern, path, strict=True)):
            return answer(request, [s for p, s in zip(pattern, path, strict=True) if p == "*"])
    raise UnexpectedRequest(f"{request.method} {request.url} is not answered in-process")


def body_of(request: httpx.Request) -> Any:
    return orjson.loads(request.content) if request.content else None


class InProcessDotdigital:
    """A Dotdigital sandbox account answering the real client's contact, consent, import and
    enrolment calls in-process. Insight data is accepted (imports finish, records are created)
    but not kept: nothing the account decides depends on it. No rate limits, no faults.

    `on_enrol(program_id, contact)` runs for each contact of an enrolment the account accepts,
    and `on_resubscribe(email)` for each re-subscribe request before the account answers it: at
    the moment the request passes, for a test to note what the rest of the system held then.
    """

    def __init__(
        self,
        account: Sandbox,
        *,
        on_enrol: Callable[[int, Contact], None] | None = None,
        on_resubscribe: Callable[[str], None] | None = None,
    ) -> None:
        self.account = account
        self._on_enrol = on_enrol
        self._on_resubscribe = on_resubscribe
        credentials = f"{account.config.username}:{account.config.password}".encode()
        self._authorization = f"Basic {base64.b64encode(credentials).decode('ascii')}"
        self._routes: dict[Route, Answer] = {
            ("GET", ("contacts", "v3", "email", "*")): self._get_contact,
            ("PATCH", ("contacts", "v3", "email", "*")): self._upsert_contact,
            ("PUT", ("contacts", "v3", "import")): self._start_contact_import,
            ("GET", ("contacts", "v3", "import", "*")): self._import_status(JobKind.CONTACTS),
            ("PUT", ("insightData", "v3", "import")): self._start_insight_import,
            ("GET", ("insightData", "v3", "import", "*")): self._import_status(JobKind.INSIGHT),
            ("PUT", ("insightData", "v3", "contacts", "email", "*", "*", "*")): self._put_record,
            ("PUT", ("insightData", "v3", "account", "*", "*")): self._put_record,
            ("POST", ("v2", "contacts", "unsubscribe")): self._unsubscribe,
            ("POST", ("v2", "contacts", "resubscribe")): self._resubscribe,
            ("GET", ("v2", "contacts", "unsubscribed-since", "*")): self._feed(
                frozenset({"Unsubscribed"})
            ),
            ("GET", ("v2", "contacts", "suppressed-since", "*")): self._feed(None),
            ("POST", ("v2", "programs", "enrolments")): self._enrol,
        }

    def client(self, time: FakeTime) -> DotdigitalClient:
        """The real client of this account over the in-process transport; `time` is its clocks
        and the sleep between import polls."""
        return dotdigital_client(self.account.config, httpx.MockTransport(self), time)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != self._authorization:
            return reply({"message": UNAUTHORIZED_MESSAGE}, 401)
        try:
            return route(request, self._routes, segments(request))
        except ApiError as error:
            return reply(error.body, error.status)

    # --- v3 contacts ---------------------------------------------------------------------------

    def _get_contact(self, request: httpx.Request, found: Segments) -> httpx.Response:
        contact = self.account.contacts.get(found[0])
        if contact is None:
            raise v3_error(404, "contacts:contactNotFound", "Contact not found.")
        return reply(contact_v3(contact))

    def _upsert_contact(self, request: httpx.Request, found: Segments) -> httpx.Response:
        option = MergeOption.parse(request.url.params.get("merge-option", "overwrite"))
        try:
            change = parse_change(body_of(request))
            contact, created = self.account.contacts.upsert(found[0], change, option)
        except ContactRejected as error:
            raise rejected(error) from None
        return reply(contact_v3(contact), 201 if created else 200)

    def _start_contact_import(self, request: httpx.Request, found: Segments) -> httpx.Response:
        body = body_of(request)
        option = MergeOption.parse(str(body.get("mergeOption", "overwrite")))
        if not self.account.imports.has_room(JobKind.CONTACTS):
            raise v3_error(429, "contacts:tooManyActiveImports", "Too many contact imports.")
        store, rows = self.account.contacts, body["contacts"]
        job = self.account.imports.submit(
            JobKind.CONTACTS, lambda: contact_import(store, rows, option), {}
        )
        return reply({"importId": job.import_id}, 202)

    def _import_status(self, kind: JobKind) -> Answer:
        def status(request: httpx.Request, found: Segments) -> httpx.Response:
            job = self.account.imports.poll(kind, found[0], failure=None)
            if job is None:
                raise v3_error(404, f"{kind.value}:importNotFound", "Import not found.")
            return reply(job.body())

        return status

    # --- v3 insight data -----------------------------------------------------------------------

    def _start_insight_import(self, request: httpx.Request, found: Segments) -> httpx.Response:
        header = {"collectionName": body_of(request).get("collectionName")}
        job = self.account.imports.submit(JobKind.INSIGHT, dict, header)
        return reply({"importId": job.import_id}, 202)

    def _put_record(self, request: httpx.Request, found: Segments) -> httpx.Response:
        return httpx.Response(201)

    # --- v2 consent and programs ---------------------------------------------------------------

    def _unsubscribe(self, request: httpx.Request, found: Segments) -> httpx.Response:
        contact, entry = self.account.contacts.unsubscribe(body_of(request)["email"])
        return reply(suppression_v2(entry, contact))

    def _resubscribe(self, request: httpx.Request, found: Segments) -> httpx.Response:
        wanted = body_of(request)["unsubscribedContact"]
        email = wanted["email"]
        fields = {f["key"]: f.get("value") for f in wanted.get("dataFields", [])}
        if self._on_resubscribe is not None:
            self._on_resubscribe(email)
        contact, outcome = self.account.contacts.resubscribe(
            email, fields, challenge=self.account.config.resubscribe_challenges
        )
        return reply({"contact": contact_v2(contact), "status": outcome.value})

    def _feed(self, reasons: frozenset[str] | None) -> Answer:
        def feed(request: httpx.Request, found: Segments) -> httpx.Response:
            store = self.account.contacts
            select = int(request.url.params.get("select", FEED_MAX_SELECT))
            skip = int(request.url.params.get("skip", 0))
            since = parse_iso(found[0])
            return reply(suppression_feed_v2(store, since, reasons, skip, select))

        return feed

    def _enrol(self, request: httpx.Request, found: Segments) -> httpx.Response:
        try:
            enrolment = self.account.programs.enrol(body_of(request), self.account.contacts)
        except EnrolmentRejected as error:
            raise v2_error(error.status, f"Error: {error.code}") from None
        if self._on_enrol is not None:
            for contact_id in enrolment.contacts:
                contact = self.account.contacts.by_id(contact_id)
                assert contact is not None, f"enrolled an unknown contact {contact_id}"
                self._on_enrol(enrolment.program_id, contact)
        return reply(enrolment_v2(enrolment), 201)


def rejected(error: ContactRejected) -> ApiError:
    """A refused contact as the sandbox answers it: 409 for an email taken, 400 otherwise."""
    if isinstance(error, IdentifierTaken):
        return v3_error(409, "contacts:idAlreadyExists", error.description)
    return v3_error(400, "contacts:validationFailed", error.description)


class InProcessCommerce:
    """The store simulator answering the real Commerce client's customer read and save (the
    write-back) in-process, as `sandbox/commerce`'s REST does, behind the integration's Bearer
    token."""

    def __init__(self, store: Store, *, store_code: str = "default") -> None:
        self.store = store
        self._prefix = ("rest", store_code, "V1")
        self._routes: dict[Route, Answer] = {
            ("GET", (*self._prefix, "customers", "*")): self._customer,
            ("PUT", (*self._prefix, "customers", "*")): self._save_customer,
        }

    def client(self, time: FakeTime) -> CommerceClient:
        """The real client with the integration's Bearer token over the in-process transport;
        `time` is its clocks and the sleep between retries."""
        return CommerceClient(
            SHOP_URL,
            auth=BearerAuth(SecretStr(COMMERCE_TOKEN)),
            store_code=self._prefix[1],
            transport=httpx.MockTransport(self),
            clock=time.clock,
            wall_clock=time.wall_clock,
            sleep=time.sleep,
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {COMMERCE_TOKEN}":
            return reply({"message": "The consumer isn't authorized to access %resources."}, 401)
        return route(request, self._routes, segments(request))

    def _found(self, found: Segments) -> Customer | None:
        return self.store.customers.get(int(found[0])) if found[0].isdigit() else None

    def _customer(self, request: httpx.Request, found: Segments) -> httpx.Response:
        customer = self._found(found)
        if customer is None:
            return no_such_customer(found[0])
        return reply(rest(customer.rest(self.store.is_subscribed(customer))))

    def _save_customer(self, request: httpx.Request, found: Segments) -> httpx.Response:
        customer = self._found(found)
        if customer is None:
            return no_such_customer(found[0])
        data = body_of(request)["customer"]
        extension = data.get("extension_attributes") or {}
        subscribed = extension.get("is_subscribed")
        try:
            self.store.save_customer(
                customer,
                email=str(data["email"]).strip(),
                firstname=str(data["firstname"]),
                lastname=str(data["lastname"]),
                subscribed=bool(subscribed) if subscribed is not None else None,
            )
        except EmailTaken as taken:
            return reply({"message": taken.message}, 400)
        return reply(rest(customer.rest(self.store.is_subscribed(customer))))


def no_such_customer(customer_id: str) -> httpx.Response:
    return reply(
        {
            "message": "No such entity with %fieldName = %fieldValue",
            "parameters": {"fieldName": "customerId", "fieldValue": customer_id},
        },
        404,
    )
