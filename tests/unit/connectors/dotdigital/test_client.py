"""The Dotdigital client against a scripted API at the transport seam (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.ratelimit import Tier
from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    RetriableError,
    SkippableError,
    TooManyImports,
)
from schemas.dotdigital.bodies import (
    CollectionScope,
    ContactIdentity,
    ContactUpsert,
    EmailChannel,
    InsightImport,
    InsightRecord,
    MergeOption,
)
from tests.support.faketime import FakeTime

USER = "apiuser-1a2b3c@apiconnector.com"
PASSWORD = "correct-horse-battery-staple"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
R1 = "r1-api.dotdigital.com"
EMAIL = "jane+vip@example.com"
EMAIL_SEGMENT = "jane%2Bvip%40example.com"
NO_BODY = object()


@dataclass
class Step:
    method: str
    path: str  # as sent on the wire, percent-encoding included
    reply: httpx.Response | Exception
    params: dict[str, str] = field(default_factory=dict)
    body: Any = NO_BODY
    host: str = R1


class Api:
    """Scripted Dotdigital: each request must match the next step exactly, which gives the reply."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.seen: list[httpx.Request] = []

    def on(
        self,
        method: str,
        path: str,
        reply: httpx.Response | Exception,
        *,
        params: dict[str, str] | None = None,
        body: Any = NO_BODY,
        host: str = R1,
    ) -> Api:
        self.steps.append(Step(method, path, reply, params or {}, body, host))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        assert self.steps, f"unexpected request {request.method} {request.url}"
        step = self.steps.pop(0)
        assert (request.method, request.url.host) == (step.method, step.host)
        assert request.url.raw_path.decode().partition("?")[0] == step.path
        assert dict(request.url.params) == step.params
        assert request.headers["Authorization"] == AUTH
        if step.body is NO_BODY:
            assert request.content == b""
        else:
            assert request.headers["Content-Type"] == "application/json"
            assert orjson.loads(request.content) == step.body
        if isinstance(step.reply, Exception):
            raise step.reply
        return step.reply

    def finished(self) -> bool:
        return not self.steps


def reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


def contact(email: str = EMAIL, contact_id: int = 42) -> dict[str, Any]:
    return {
        "contactId": contact_id,
        "status": "subscribed",
        "created": "2024-01-01T10:00:00Z",
        "updated": "2024-01-02T10:00:00Z",
        "identifiers": {"email": email, "mobileNumber": None},
        "dataFields": {"FIRSTNAME": "Jane"},
        "channelProperties": {
            "email": {"emailType": "Html", "optInType": "Single", "status": "subscribed"}
        },
        "lists": [{"id": 7, "name": "Customers", "status": "subscribed"}],
    }


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
async def client(api: Api, time: FakeTime) -> Any:
    async with DotdigitalClient(
        f"https://{R1}",
        USER,
        SecretStr(PASSWORD),
        transport=httpx.MockTransport(api),
        clock=time.clock,
        sleep=time.sleep,
        wall_clock=time.wall_clock,
    ) as dd:
        yield dd
    assert api.finished(), f"steps never requested: {api.steps}"


# --- region -----------------------------------------------------------------------------------


async def test_discover_region_switches_base_url(client: DotdigitalClient, api: Api) -> None:
    properties = [
        {"name": "MainEmail", "type": "String", "value": "owner@example.com"},
        {"name": "ApiEndpoint", "type": "String", "value": "https://r2-api.dotdigital.com/"},
    ]
    api.on("GET", "/v2/account-info", reply(200, {"id": 9, "properties": properties}))
    api.on(
        "GET",
        f"/contacts/v3/email/{EMAIL_SEGMENT}",
        reply(200, contact()),
        host="r2-api.dotdigital.com",
    )

    endpoint = await client.discover_region()
    await client.get_contact(EMAIL)

    assert endpoint == "https://r2-api.dotdigital.com/"
    assert client.base_url == "https://r2-api.dotdigital.com/"


async def test_account_info_without_endpoint_is_fatal(client: DotdigitalClient, api: Api) -> None:
    api.on("GET", "/v2/account-info", reply(200, {"id": 9, "properties": []}))

    with pytest.raises(FatalError, match="ApiEndpoint"):
        await client.discover_region()


# --- contacts ---------------------------------------------------------------------------------


async def test_upsert_creates_contact_with_spec_body(client: DotdigitalClient, api: Api) -> None:
    api.on(
        "PATCH",
        f"/contacts/v3/email/{EMAIL_SEGMENT}",
        reply(201, contact()),
        params={"merge-option": "overwrite"},
        body={
            "matchIdentifier": "email",
            "identifiers": {"email": EMAIL},
            "dataFields": {"FIRSTNAME": "Jane", "LASTNAME": None},
            "channelProperties": {"email": {"status": "subscribed", "optInType": "single"}},
            "lists": [7],
        },
    )
    upsert = ContactUpsert(
        email=EMAIL,
        data_fields={"FIRSTNAME": "Jane", "LASTNAME": None},
        email_channel=EmailChannel(status="subscribed", opt_in_type="single"),
        lists=[7],
    )

    found, created = await client.upsert_contact(upsert)

    assert created is True
    assert (found.contact_id, found.email) == (42, EMAIL)


async def test_upsert_of_existing_contact_reports_update(
    client: DotdigitalClient, api: Api
) -> None:
    api.on(
        "PATCH",
        f"/contacts/v3/email/{EMAIL_SEGMENT}",
        reply(200, contact()),
        params={"merge-option": "overwrite-if-empty"},
        body={"matchIdentifier": "email", "identifiers": {"email": EMAIL}, "dataFields": {}},
    )

    _, created = await client.upsert_contact(
        ContactUpsert(email=EMAIL), MergeOption.OVERWRITE_IF_EMPTY
    )

    assert created is False


async def test_upsert_conflict_is_skippable(client: DotdigitalClient, api: Api) -> None:
    conflict = {"errorCode": "contacts:idAlreadyExists", "description": "Conflict", "details": []}
    api.on(
        "PATCH",
        f"/contacts/v3/email/{EMAIL_SEGMENT}",
        reply(409, conflict),
        params={"merge-option": "overwrite"},
        body={"matchIdentifier": "email", "identifiers": {"email": EMAIL}, "dataFields": {}},
    )

    with pytest.raises(SkippableError) as raised:
        await client.upsert_contact(ContactUpsert(email=EMAIL))

    assert (raised.value.status, raised.value.code) == (409, "contacts:idAlreadyExists")


async def test_get_unknown_contact_returns_none(client: DotdigitalClient, api: Api) -> None:
    not_found = {
        "errorCode": "contacts:contactNotFound",
        "description": "Contact not found",
        "details": [{"item": EMAIL, "description": "not found"}],
    }
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(404, not_found))

    assert await client.get_contact(EMAIL) is None


async def test_get_contact_parses_the_contact(client: DotdigitalClient, api: Api) -> None:
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(200, contact()))

    found = await client.get_contact(EMAIL)

    assert found is not None
    assert found.channel_properties["email"]["status"] == "subscribed"


async def test_modified_contacts_follows_markers(client: DotdigitalClient, api: Api) -> None:
    query = {"~modified": "gte::2024-03-01T09:30:00Z", "include": "channelProperties", "limit": "2"}
    page1 = {
        "_links": {"next": {"marker": "m-2"}},
        "_items": [contact("a@x.com", 1), contact("b@x.com", 2)],
    }
    page2 = {"_links": {}, "_items": [contact("c@x.com", 3)]}
    api.on("GET", "/contacts/v3", reply(200, page1), params=query)
    api.on("GET", "/contacts/v3", reply(200, page2), params={**query, "marker": "m-2"})
    since = datetime(2024, 3, 1, 10, 30, 0, 999, tzinfo=timezone(timedelta(hours=1)))

    ids = [c.contact_id async for c in client.modified_contacts(since, limit=2)]

    assert ids == [1, 2, 3]


async def test_naive_datetimes_are_refused(client: DotdigitalClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        [c async for c in client.modified_contacts(datetime(2024, 1, 1))]


# --- contact imports --------------------------------------------------------------------------


async def test_contact_import_is_started_and_polled(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    api.on(
        "PUT",
        "/contacts/v3/import",
        reply(202, {"importId": "c-1"}),
        body={
            "mergeOption": "overwriteIfNotEmpty",
            "contacts": [
                {"matchIdentifier": "email", "identifiers": {"email": "a@x.com"}, "dataFields": {}}
            ],
        },
    )
    api.on(
        "GET", "/contacts/v3/import/c-1", reply(200, {"importId": "c-1", "status": "NotFinished"})
    )
    done = {
        "importId": "c-1",
        "status": "Finished",
        "summary": {"newContacts": 0, "updatedContacts": 0, "invalidEntries": 1},
        "failures": [
            {
                "matchIdentifier": "email",
                "identifiers": {"email": "a@x.com"},
                "failures": [{"failureCode": "invalidEmail", "description": "Invalid email"}],
            }
        ],
    }
    api.on("GET", "/contacts/v3/import/c-1", reply(200, done))

    report = await client.run_contact_import(
        [ContactUpsert(email="a@x.com")], MergeOption.OVERWRITE_IF_NOT_EMPTY, poll_interval=5
    )

    assert report.failures[0].failures[0]["failureCode"] == "invalidEmail"
    assert time.sleeps == [5, 5]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("Failed", RetriableError),
        ("RejectedByWatchdog", SkippableError),
        ("ExceedsAllowedContactLimit", FatalError),
    ],
)
async def test_contact_import_end_states_are_routed(
    client: DotdigitalClient, api: Api, status: str, error: type[ConnectorError]
) -> None:
    api.on(
        "PUT",
        "/contacts/v3/import",
        reply(202, {"importId": "c-2"}),
        body={"mergeOption": "overwrite", "contacts": []},
    )
    api.on("GET", "/contacts/v3/import/c-2", reply(200, {"importId": "c-2", "status": status}))

    with pytest.raises(error, match=status):
        await client.run_contact_import([])


# --- insight data -----------------------------------------------------------------------------


def orders_batch() -> InsightImport:
    return InsightImport(
        collection_name="Orders",
        collection_scope=CollectionScope.CONTACT,
        collection_type="orders",
        records=[
            InsightRecord(
                key="000000123",
                contact_identity=ContactIdentity(value="a@x.com"),
                json_={"id": "000000123", "orderTotal": 10.5},
            ),
            InsightRecord(
                key="000000124",
                contact_identity=ContactIdentity(value="ghost@x.com"),
                json_={"id": "000000124", "orderTotal": 3},
            ),
        ],
    )


ORDERS_BODY = {
    "collectionName": "Orders",
    "collectionScope": "contact",
    "collectionType": "orders",
    "records": [
        {
            "key": "000000123",
            "contactIdentity": {"identifier": "email", "value": "a@x.com"},
            "json": {"id": "000000123", "orderTotal": 10.5},
        },
        {
            "key": "000000124",
            "contactIdentity": {"identifier": "email", "value": "ghost@x.com"},
            "json": {"id": "000000124", "orderTotal": 3},
        },
    ],
}


async def test_insight_import_polls_until_finished_and_parses_failures(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    api.on("PUT", "/insightData/v3/import", reply(202, {"importId": "i-1"}), body=ORDERS_BODY)
    pending = {"importId": "i-1", "status": "NotFinished", "collectionName": "Orders"}
    api.on("GET", "/insightData/v3/import/i-1", reply(200, pending))
    finished = {
        **pending,
        "status": "Finished",
        "summary": {"totalRecords": 2, "totalImported": 1, "totalRejected": 1},
        "failures": [
            {
                "key": "000000124",
                "failureReason": "ContactEmailDoesNotExist",
                "details": [],
                "collectionOwner": "contact",
            }
        ],
    }
    api.on("GET", "/insightData/v3/import/i-1", reply(200, finished))

    report = await client.run_insight_import(orders_batch())

    assert report.finished
    assert report.summary["totalRejected"] == 1
    assert [(f.key, f.failure_reason) for f in report.failures] == [
        ("000000124", "ContactEmailDoesNotExist")
    ]
    assert time.sleeps == [2.0, 2.0]


async def test_complete_is_accepted_as_finished(client: DotdigitalClient, api: Api) -> None:
    api.on("PUT", "/insightData/v3/import", reply(202, {"importId": "i-2"}), body=ORDERS_BODY)
    api.on(
        "GET", "/insightData/v3/import/i-2", reply(200, {"importId": "i-2", "status": "Complete"})
    )

    assert (await client.run_insight_import(orders_batch())).finished


async def test_failed_insight_import_is_retriable(client: DotdigitalClient, api: Api) -> None:
    api.on("PUT", "/insightData/v3/import", reply(202, {"importId": "i-3"}), body=ORDERS_BODY)
    api.on("GET", "/insightData/v3/import/i-3", reply(200, {"importId": "i-3", "status": "Failed"}))

    with pytest.raises(RetriableError, match="i-3 ended Failed"):
        await client.run_insight_import(orders_batch())


async def test_a_failed_poll_does_not_abandon_the_import(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    api.on("PUT", "/insightData/v3/import", reply(202, {"importId": "i-4"}), body=ORDERS_BODY)
    api.on("GET", "/insightData/v3/import/i-4", reply(503, None, **{"Retry-After": "7"}))
    api.on(
        "GET", "/insightData/v3/import/i-4", reply(200, {"importId": "i-4", "status": "Finished"})
    )

    report = await client.run_insight_import(orders_batch())

    assert report.finished
    assert time.sleeps == [2.0, 7.0]


async def test_insight_import_gives_up_at_the_deadline(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    api.on("PUT", "/insightData/v3/import", reply(202, {"importId": "i-5"}), body=ORDERS_BODY)
    for _ in range(3):
        api.on(
            "GET",
            "/insightData/v3/import/i-5",
            reply(200, {"importId": "i-5", "status": "NotFinished"}),
        )

    with pytest.raises(RetriableError, match="i-5 still NotFinished after 30s"):
        await client.run_insight_import(orders_batch(), poll_interval=10, timeout=30)

    assert time.sleeps == [10, 10, 10]


async def test_too_many_active_imports_is_its_own_retriable_error(
    client: DotdigitalClient, api: Api
) -> None:
    busy = {"errorCode": "insightData:tooManyActiveImports", "description": "Too many imports"}
    api.on("PUT", "/insightData/v3/import", reply(429, busy), body=ORDERS_BODY)

    with pytest.raises(TooManyImports):
        await client.start_insight_import(orders_batch())


async def test_at_most_five_insight_imports_run_at_once(time: FakeTime) -> None:
    active = 0
    most = 0
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, most
        if request.method == "PUT":
            active += 1
            most = max(most, active)
            return reply(202, {"importId": "i"})
        await gate.wait()  # no import finishes until every caller has had its chance to start
        active -= 1
        return reply(200, {"importId": "i", "status": "Finished"})

    async def open_gate() -> None:
        gate.set()  # scheduled after the eight imports, so it runs once they have all blocked

    async with DotdigitalClient(
        f"https://{R1}",
        USER,
        SecretStr(PASSWORD),
        transport=httpx.MockTransport(handler),
        clock=time.clock,
        sleep=time.sleep,
    ) as dd:
        imports = [asyncio.create_task(dd.run_insight_import(orders_batch())) for _ in range(8)]
        opener = asyncio.create_task(open_gate())
        await asyncio.gather(*imports, opener)

    assert all(task.result().finished for task in imports)
    assert most == 5


async def test_contact_record_put_reports_created(client: DotdigitalClient, api: Api) -> None:
    cart = {"cartId": "77", "cartPhase": "ORDER_PENDING"}
    path = f"/insightData/v3/contacts/email/{EMAIL_SEGMENT}/CartInsight/77"
    api.on("PUT", path, reply(201), body=cart)
    api.on("PUT", path, reply(204), body=cart)

    assert await client.put_insight_record("CartInsight", "77", cart, email=EMAIL) is True
    assert await client.put_insight_record("CartInsight", "77", cart, email=EMAIL) is False


async def test_account_record_uses_account_path(client: DotdigitalClient, api: Api) -> None:
    product = {"id": "5", "sku": "A/B 1"}
    api.on("PUT", "/insightData/v3/account/Catalog_Default/A%2FB%201", reply(201), body=product)
    api.on("GET", "/insightData/v3/account/Catalog_Default/A%2FB%201", reply(200, product))

    assert await client.put_insight_record("Catalog_Default", "A/B 1", product, email=None)
    assert await client.get_insight_record("Catalog_Default", "A/B 1", email=None) == product


@pytest.mark.parametrize("key", ["..", "."])
async def test_a_dot_segment_record_key_is_refused_before_anything_is_sent(
    client: DotdigitalClient, api: Api, key: str
) -> None:
    # `/email/<e>/Orders/..` would reach `/email/<e>`: the contact, not a record.
    with pytest.raises(SkippableError, match="refused"):
        await client.put_insight_record("Orders", key, {"id": key}, email=EMAIL)
    with pytest.raises(SkippableError, match="refused"):
        await client.put_insight_record(key, "1", {"id": "1"}, email=None)

    assert api.seen == []


async def test_missing_insight_record_reads_as_none(client: DotdigitalClient, api: Api) -> None:
    missing = {"errorCode": "insightData:collectionNotFound", "description": "No collection"}
    api.on("GET", f"/insightData/v3/contacts/email/{EMAIL_SEGMENT}/Orders/1", reply(404, missing))

    assert await client.get_insight_record("Orders", "1", email=EMAIL) is None


async def test_list_contact_insight_returns_items(client: DotdigitalClient, api: Api) -> None:
    item = {"key": "1", "json": {"id": "1"}, "created": "2024-01-01", "updated": "2024-01-01"}
    path = f"/insightData/v3/contacts/email/{EMAIL_SEGMENT}/Orders"
    api.on("GET", path, reply(200, {"_items": [item]}))

    assert await client.list_contact_insight(EMAIL, "Orders") == [item]


# --- consent and programs (v2) ----------------------------------------------------------------


async def test_unsubscribe_posts_the_email(client: DotdigitalClient, api: Api) -> None:
    answer = {
        "suppressedContact": {"id": 42, "email": EMAIL, "status": "Unsubscribed"},
        "dateRemoved": "2024-01-01T00:00:00",
        "reason": "Unsubscribed",
    }
    api.on("POST", "/v2/contacts/unsubscribe", reply(200, answer), body={"email": EMAIL})

    assert await client.unsubscribe(EMAIL) == answer


async def test_resubscribe_returns_the_outcome(client: DotdigitalClient, api: Api) -> None:
    api.on(
        "POST",
        "/v2/contacts/resubscribe",
        reply(200, {"contact": {"id": 42, "email": EMAIL}, "status": "ContactChallenged"}),
        body={
            "unsubscribedContact": {
                "email": EMAIL,
                "dataFields": [{"key": "FIRSTNAME", "value": "Jane"}],
            }
        },
    )

    assert await client.resubscribe(EMAIL, {"FIRSTNAME": "Jane"}) == "ContactChallenged"


async def test_v2_feed_pages_until_a_short_page(client: DotdigitalClient, api: Api) -> None:
    def rows(*ids: int) -> list[dict[str, Any]]:
        return [
            {"suppressedContact": {"id": i, "email": f"{i}@x.com"}, "reason": "Unsubscribed"}
            for i in ids
        ]

    path = "/v2/contacts/unsubscribed-since/2024-01-01T00:00:00Z"
    api.on("GET", path, reply(200, rows(1, 2)), params={"select": "2", "skip": "0"})
    api.on("GET", path, reply(200, rows(3, 4)), params={"select": "2", "skip": "2"})
    api.on("GET", path, reply(200, rows(5)), params={"select": "2", "skip": "4"})
    since = datetime(2024, 1, 1, tzinfo=UTC)

    seen = [row["suppressedContact"]["id"] async for row in client.unsubscribed_since(since, 2)]

    assert seen == [1, 2, 3, 4, 5]


async def test_suppressed_feed_stops_on_an_empty_page(client: DotdigitalClient, api: Api) -> None:
    path = "/v2/contacts/suppressed-since/2024-01-01T00:00:00Z"
    api.on("GET", path, reply(200, []), params={"select": "1000", "skip": "0"})

    assert [r async for r in client.suppressed_since(datetime(2024, 1, 1, tzinfo=UTC))] == []


async def test_enrol_chunks_thirty_contacts_into_25_and_5(
    client: DotdigitalClient, api: Api
) -> None:
    ids = list(range(1, 31))
    for chunk in (ids[:25], ids[25:]):
        created = {"id": "e", "programId": 8, "status": "Processing", "contacts": chunk}
        api.on(
            "POST",
            "/v2/programs/enrolments",
            reply(201, created),
            body={"programId": 8, "contacts": chunk},
        )

    enrolments = await client.enrol(8, ids)

    assert [len(e["contacts"]) for e in enrolments] == [25, 5]


async def test_inactive_program_is_skippable(client: DotdigitalClient, api: Api) -> None:
    inactive = {"message": "Error: ERROR_PROGRAM_NOT_ACTIVE"}
    api.on(
        "POST",
        "/v2/programs/enrolments",
        reply(422, inactive),
        body={"programId": 8, "contacts": [1]},
    )

    with pytest.raises(SkippableError) as raised:
        await client.enrol(8, [1])

    assert raised.value.code == "ERROR_PROGRAM_NOT_ACTIVE"


# --- failures at the edge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_transport_failures_become_retriable(
    client: DotdigitalClient, api: Api, exc: httpx.HTTPError
) -> None:
    api.on("GET", "/v2/account-info", exc)

    with pytest.raises(RetriableError) as raised:
        await client.account_info()

    assert type(raised.value) is RetriableError
    assert raised.value.__cause__ is None and raised.value.__context__ is None


async def test_unsupported_protocol_is_fatal(client: DotdigitalClient, api: Api) -> None:
    api.on("GET", "/v2/account-info", httpx.UnsupportedProtocol("unsupported protocol"))

    with pytest.raises(FatalError):
        await client.account_info()


async def test_bad_credentials_are_fatal(client: DotdigitalClient, api: Api) -> None:
    denied = {"message": "Authorization has been denied for this request."}
    api.on("GET", "/v2/account-info", reply(401, denied))

    with pytest.raises(FatalError, match="HTTP 401"):
        await client.account_info()


async def test_wrong_region_is_fatal(client: DotdigitalClient, api: Api) -> None:
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(403))

    with pytest.raises(FatalError, match="wrong region"):
        await client.get_contact(EMAIL)


async def test_server_errors_with_odd_bodies_are_retriable(
    client: DotdigitalClient, api: Api
) -> None:
    api.on("GET", "/v2/account-info", reply(500))
    api.on("GET", "/v2/account-info", httpx.Response(502, content=b"<html>Bad Gateway</html>"))

    for _ in range(2):
        with pytest.raises(RetriableError):
            await client.account_info()


async def test_success_with_a_broken_body_is_retriable(client: DotdigitalClient, api: Api) -> None:
    api.on("GET", "/v2/account-info", httpx.Response(200, content=b'{"id": 9, "prop'))

    with pytest.raises(RetriableError, match="not JSON"):
        await client.account_info()


async def test_429_holds_the_tier_until_reset(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    limited = reply(429, None, **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000040"})
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", limited)
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(200, contact()))

    with pytest.raises(RateLimited) as raised:
        await client.get_contact(EMAIL)
    assert raised.value.retry_after == 40.0
    assert client.limiter.held_for(Tier.MEDIUM) == 40.0
    await client.get_contact(EMAIL)

    assert time.sleeps == [40.0]


async def test_spent_budget_header_holds_the_next_call(
    client: DotdigitalClient, api: Api, time: FakeTime
) -> None:
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "15"}
    api.on("GET", "/v2/account-info", reply(200, {"id": 1, "properties": []}, **spent))
    api.on("GET", "/v2/account-info", reply(200, {"id": 1, "properties": []}))

    await client.account_info()
    await client.account_info()

    assert time.sleeps == [15.0]


# --- secrets and personal data ----------------------------------------------------------------


async def test_secret_never_appears_in_reprs_errors_or_logs(
    client: DotdigitalClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="connectors")
    api.on("GET", "/v2/account-info", reply(401, {"message": "Authorization has been denied"}))
    api.on("GET", "/v2/account-info", httpx.ConnectError("refused"))
    errors: list[ConnectorError] = []
    for _ in range(2):
        with pytest.raises(ConnectorError) as raised:
            await client.account_info()
        errors.append(raised.value)

    encoded = AUTH.removeprefix("Basic ")
    texts = [repr(client), str(client), repr(vars(client)), *map(repr, errors), *map(str, errors)]
    texts += [str(note) for error in errors for note in getattr(error, "__notes__", [])]
    texts += [repr(vars(record)) for record in caplog.records]
    for text in texts:
        assert PASSWORD not in text
        assert encoded not in text
    assert "a***@apiconnector.com" in repr(client)


async def test_logs_mask_the_email_in_paths(
    client: DotdigitalClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="connectors")
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(200, contact()))
    api.on("GET", f"/contacts/v3/email/{EMAIL_SEGMENT}", reply(404, {"errorCode": "x:y"}))

    await client.get_contact(EMAIL)
    await client.get_contact(EMAIL)

    records = [r for r in caplog.records if r.name == "connectors.dotdigital.session"]
    assert [r.__dict__["status"] for r in records] == [200, 404]
    assert {r.__dict__["path"] for r in records} == {"/contacts/v3/email/j***@example.com"}
    for record in records:
        assert "jane" not in record.getMessage()
        assert EMAIL_SEGMENT not in repr(vars(record))
        assert {"method", "duration_ms", "tier", "operation"} <= set(vars(record))
