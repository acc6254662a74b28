"""The Dotdigital API client: contacts, insight data, imports, consent feeds and enrolments."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from connectors.clock import Clock, Sleep
from connectors.dotdigital.imports import (
    ImportHooks,
    ImportReport,
    UnknownImport,
    await_report,
    run_import,
)
from connectors.dotdigital.pagination import V3Page, marker_pages, skip_pages
from connectors.dotdigital.ratelimit import TierBudgets, TierLimiter
from connectors.dotdigital.session import SOURCE, ApiSession
from connectors.errors import FatalError, SkippableError
from connectors.privacy import mask_email
from connectors.rest import SessionClient, as_model, segment, unless_missing
from schemas.dotdigital.bodies import (
    Contact,
    ContactImportReport,
    ContactUpsert,
    InsightImport,
    InsightImportReport,
    MergeOption,
)
from schemas.dotdigital.journals.imports import ImportKind

logger = logging.getLogger(__name__)

MAX_CONTACT_IMPORTS = 25  # above this Dotdigital answers 429 tooManyActiveImports
MAX_INSIGHT_IMPORTS = 5
ENROLMENT_BATCH = 25  # the spec's cap on contacts per enrolment call
_CONTACT_IMPORTS = "/contacts/v3/import"
_INSIGHT_IMPORTS = "/insightData/v3/import"

Report = TypeVar("Report", ContactImportReport, InsightImportReport)

# The PATCH query spells merge options in kebab case, the import body in camel case.
_IMPORT_MERGE = {
    MergeOption.OVERWRITE: "overwrite",
    MergeOption.OVERWRITE_IF_NOT_EMPTY: "overwriteIfNotEmpty",
    MergeOption.OVERWRITE_IF_EMPTY: "overwriteIfEmpty",
}


class DotdigitalClient(SessionClient):
    """Async Dotdigital client; every failure surfaces as a `ConnectorError`, never an httpx one.

    `clock` (monotonic) and `sleep` drive rate-limit holds and import polling; `wall_clock`
    (epoch) converts an epoch `X-RateLimit-Reset` into seconds.
    """

    _session: ApiSession

    def __init__(
        self,
        base_url: str,
        username: str,
        password: SecretStr,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 121.0,
        limits: TierBudgets | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        limiter: TierLimiter | None = None,
        background: bool = False,
    ) -> None:
        self._username = username
        self._clock = clock
        self._sleep = sleep
        # Clients of one account share a limiter: the budgets are the account's, not the client's.
        self.limiter = limiter or TierLimiter(
            limits, clock=clock, wall_clock=wall_clock, sleep=sleep
        )
        self._session = ApiSession(
            base_url,
            username,
            password,
            transport=transport,
            timeout=timeout,
            limiter=self.limiter,
            background=background,
            clock=clock,
            wall_clock=wall_clock,
        )
        self._contact_imports = asyncio.Semaphore(MAX_CONTACT_IMPORTS)
        self._insight_imports = asyncio.Semaphore(MAX_INSIGHT_IMPORTS)

    def __repr__(self) -> str:
        user = mask_email(self._username)
        return f"DotdigitalClient(base_url={self.base_url!r}, username={user!r})"

    @property
    def calls(self) -> Counter[str]:
        """Calls this client has sent, per operation (its tier: `OPERATION_TIERS`)."""
        return self._session.calls

    # --- account -------------------------------------------------------------------------------

    async def account_info(self) -> dict[str, Any]:
        """`GET /v2/account-info`: `{id, properties: [{name, type, value}]}`."""
        reply = await self._session.send("account_info", "GET", "/v2/account-info")
        return reply.json_object("account info")

    async def discover_region(self) -> str:
        """Find the account's regional host (`ApiEndpoint`), switch to it and return it."""
        properties = (await self.account_info()).get("properties")
        endpoint = next(
            (
                prop.get("value")
                for prop in (properties if isinstance(properties, list) else [])
                if isinstance(prop, dict) and prop.get("name") == "ApiEndpoint"
            ),
            None,
        )
        if not isinstance(endpoint, str):
            raise FatalError("account-info has no ApiEndpoint property")
        url = httpx.URL(endpoint)
        if url.scheme not in {"http", "https"} or not url.host:
            raise FatalError(f"account-info ApiEndpoint is not an HTTP URL: {endpoint!r}")
        if url.scheme == "http" and httpx.URL(self.base_url).scheme == "https":
            raise FatalError("account-info ApiEndpoint would downgrade HTTPS to HTTP")
        self._session.base_url = endpoint
        logger.info("dotdigital region discovered", extra={"api_endpoint": endpoint})
        return endpoint

    # --- contacts ------------------------------------------------------------------------------

    async def upsert_contact(
        self, upsert: ContactUpsert, merge: MergeOption = MergeOption.OVERWRITE
    ) -> tuple[Contact, bool]:
        """Create or update a contact by email; returns it and whether it was created (201).

        With `previous_email` set the contact is found by that address and its email identifier
        changes to `email`, so the contact keeps its id, history and insight data.
        """
        found_by = upsert.previous_email or upsert.email
        reply = await self._session.send(
            "upsert_contact",
            "PATCH",
            f"/contacts/v3/email/{segment(found_by)}",
            params={"merge-option": merge.value},
            body=upsert.wire(),
            email=found_by,
        )
        return reply.model(Contact), reply.status == 201

    async def get_contact(self, email: str) -> Contact | None:
        """The contact with this email, or None when Dotdigital does not know it (404)."""
        path = f"/contacts/v3/email/{segment(email)}"
        reply = await unless_missing(self._session.send("get_contact", "GET", path, email=email))
        return None if reply is None else reply.model(Contact)

    async def modified_contacts(
        self,
        since: datetime,
        limit: int = 5000,
        include: Sequence[str] = ("channelProperties",),
    ) -> AsyncIterator[Contact]:
        """Contacts changed at or after `since` (the `~modified` feed), following its markers;
        `include` names the optional sections each contact comes with (`dataFields`, …)."""
        if not 1 <= limit <= 5000:
            raise ValueError("limit must be between 1 and 5000")
        query = {"~modified": f"gte::{_iso(since)}", "include": ",".join(include)}

        async def fetch(marker: str | None) -> V3Page:
            params: dict[str, str | int] = {**query, "limit": limit}
            if marker is not None:
                params["marker"] = marker
            reply = await self._session.send(
                "modified_contacts", "GET", "/contacts/v3", params=params
            )
            return reply.json_object("contact feed")

        async for items in marker_pages(fetch):
            for item in items:
                yield as_model(Contact, item, SOURCE)

    # --- contact imports -----------------------------------------------------------------------

    async def start_contact_import(
        self, contacts: list[ContactUpsert], merge: MergeOption = MergeOption.OVERWRITE
    ) -> str:
        """`PUT /contacts/v3/import`; returns the import id. Prefer `run_contact_import`."""
        body = {"mergeOption": _IMPORT_MERGE[merge], "contacts": [c.wire() for c in contacts]}
        return await self._start_import("start_contact_import", _CONTACT_IMPORTS, body)

    async def contact_import_report(self, import_id: str) -> ContactImportReport:
        """`GET /contacts/v3/import/{importId}`."""
        return await self._import_report(
            "contact_import_report", _CONTACT_IMPORTS, import_id, ContactImportReport
        )

    async def run_contact_import(
        self,
        contacts: list[ContactUpsert],
        merge: MergeOption = MergeOption.OVERWRITE,
        *,
        poll_interval: float = 2.0,
        timeout: float = 600,  # noqa: ASYNC109 - a deadline on the injected clock, not asyncio's
        hooks: ImportHooks | None = None,
    ) -> ContactImportReport:
        """Import contacts and wait for the report (at most 25 imports in flight per client).

        `Failed` is retriable (contacts are upserts by email); `RejectedByWatchdog` means the
        batch itself is bad (skippable); `ExceedsAllowedContactLimit` needs an operator (fatal).
        """
        return await run_import(
            "contact import",
            lambda: self.start_contact_import(contacts, merge),
            self.contact_import_report,
            slots=self._contact_imports,
            fatal={"ExceedsAllowedContactLimit"},
            skippable={"RejectedByWatchdog"},
            poll_interval=poll_interval,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
            hooks=hooks,
        )

    # --- insight data --------------------------------------------------------------------------

    async def start_insight_import(self, batch: InsightImport) -> str:
        """`PUT /insightData/v3/import`; returns the import id. Prefer `run_insight_import`."""
        return await self._start_import("start_insight_import", _INSIGHT_IMPORTS, batch.wire())

    async def insight_import_report(self, import_id: str) -> InsightImportReport:
        """`GET /insightData/v3/import/{importId}`."""
        return await self._import_report(
            "insight_import_report", _INSIGHT_IMPORTS, import_id, InsightImportReport
        )

    async def run_insight_import(
        self,
        batch: InsightImport,
        *,
        poll_interval: float = 2.0,
        timeout: float = 600,  # noqa: ASYNC109 - a deadline on the injected clock, not asyncio's
        hooks: ImportHooks | None = None,
    ) -> InsightImportReport:
        """Import a batch and wait until `Finished`/`Complete` (at most 5 in flight per client).

        A `Failed` job raises `RetriableError`: records are upserts by key, so the whole batch
        can be sent again. Per-record rejections come back in the report's `failures`.
        """
        return await run_import(
            "insight import",
            lambda: self.start_insight_import(batch),
            self.insight_import_report,
            slots=self._insight_imports,
            poll_interval=poll_interval,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
            hooks=hooks,
        )

    async def await_import(
        self,
        kind: ImportKind,
        import_id: str,
        *,
        poll_interval: float = 2.0,
        timeout: float = 600,  # noqa: ASYNC109 - a deadline on the injected clock, not asyncio's
    ) -> str:
        """Poll an import someone else started (a worker that died polling it) until it ended;
        returns its last status, `Unknown` when Dotdigital has no such import."""
        report: Callable[[str], Awaitable[ImportReport]] = (
            self.contact_import_report
            if kind is ImportKind.CONTACTS
            else self.insight_import_report
        )

        async def fetch() -> ImportReport:
            found = await unless_missing(report(import_id))
            return UnknownImport() if found is None else found

        ended = await await_report(
            fetch,
            what=f"{kind.value} import {import_id}",
            poll_interval=poll_interval,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
        )
        return ended.status

    async def _start_import(self, operation: str, path: str, body: Any) -> str:
        reply = await self._session.send(operation, "PUT", path, body=body)
        what = operation.removeprefix("start_").replace("_", " ")  # "contact import"
        import_id = reply.json_object(what).get("importId")
        if not isinstance(import_id, str) or not import_id:
            raise FatalError("import reply has no importId")
        return import_id

    async def _import_report(
        self, operation: str, path: str, import_id: str, model: type[Report]
    ) -> Report:
        reply = await self._session.send(operation, "GET", f"{path}/{segment(import_id)}")
        return reply.model(model)

    async def put_insight_record(
        self, collection: str, key: str, json: dict[str, Any], *, email: str | None
    ) -> bool:
        """Create or replace one record (contact scope with `email`, else account scope).

        Returns True when created (201), False when replaced (204).
        """
        path = _record_path(collection, key, email)
        reply = await self._session.send("put_insight_record", "PUT", path, body=json, email=email)
        return reply.status == 201

    async def get_insight_record(
        self, collection: str, key: str, *, email: str | None
    ) -> dict[str, Any] | None:
        """One record as Dotdigital returns it, or None when it (or its collection) is absent."""
        path = _record_path(collection, key, email)
        op = "get_insight_record"
        reply = await unless_missing(self._session.send(op, "GET", path, email=email))
        return None if reply is None else reply.json_object("insight record")

    async def list_contact_insight(self, email: str, collection: str) -> list[dict[str, Any]]:
        """Every record of one contact in one collection: `[{key, json, created, updated}]`."""
        path = f"/insightData/v3/contacts/email/{segment(email)}/{segment(collection)}"

        async def fetch(marker: str | None) -> V3Page:
            params: dict[str, str | int] | None = None if marker is None else {"marker": marker}
            op = "list_contact_insight"
            reply = await self._session.send(op, "GET", path, params=params, email=email)
            return reply.json_object("insight records")

        return [item async for items in marker_pages(fetch) for item in items]

    async def list_account_insight(self, collection: str) -> list[dict[str, Any]]:
        """Every record of an account-scoped collection (Low tier, page by page); none when
        the collection does not exist yet."""
        path = f"/insightData/v3/account/{segment(collection)}"

        async def fetch(marker: str | None) -> V3Page:
            params: dict[str, str | int] | None = None if marker is None else {"marker": marker}
            reply = await self._session.send("list_account_insight", "GET", path, params=params)
            return reply.json_object("insight records")

        try:
            return [item async for items in marker_pages(fetch) for item in items]
        except SkippableError as exc:
            if exc.status == 404:
                return []
            raise

    # --- consent (v2) --------------------------------------------------------------------------

    async def unsubscribe(self, email: str) -> dict[str, Any]:
        """Globally unsubscribe an address: `{suppressedContact, dateRemoved, reason}`."""
        body = {"email": email}
        reply = await self._session.send(
            "unsubscribe", "POST", "/v2/contacts/unsubscribe", body=body
        )
        return reply.json_object("unsubscribe")

    async def resubscribe(
        self, email: str, data_fields: dict[str, Any] | None = None, *, challenge: bool = True
    ) -> str:
        """Ask to resubscribe an address; suppressions (bounces, complaints) are never lifted.

        Returns `ContactAdded`, `ContactChallenged` (confirmation email sent, still unsubscribed)
        or `ContactCannotBeUnsuppressed`. `challenge=False` uses the `-with-no-challenge`
        variant, which adds an unsubscribed contact back at once: only for consent the person
        gave where Dotdigital cannot see it.
        """
        contact: dict[str, Any] = {"email": email}
        if data_fields:
            # v2 contacts carry data fields as a list of key/value pairs.
            contact["dataFields"] = [{"key": k, "value": v} for k, v in data_fields.items()]
        body = {"unsubscribedContact": contact}
        path = (
            "/v2/contacts/resubscribe"
            if challenge
            else "/v2/contacts/resubscribe-with-no-challenge"
        )
        reply = await self._session.send("resubscribe", "POST", path, body=body)
        status = reply.json_object("resubscribe").get("status")
        if not isinstance(status, str):
            raise FatalError("resubscribe reply has no status")
        return status

    def unsubscribed_since(
        self, since: datetime, select: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """Unsubscribes since `since`: `{suppressedContact, dateRemoved, reason}` rows."""
        return self._v2_feed("unsubscribed_since", "unsubscribed-since", since, select)

    def suppressed_since(
        self, since: datetime, select: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """Suppressions (unsubscribes, bounces, complaints…) since `since`, same row shape."""
        return self._v2_feed("suppressed_since", "suppressed-since", since, select)

    async def _v2_feed(
        self, operation: str, feed: str, since: datetime, select: int
    ) -> AsyncIterator[dict[str, Any]]:
        if not 1 <= select <= 1000:
            raise ValueError("select must be between 1 and 1000")
        path = f"/v2/contacts/{feed}/{_iso(since)}"

        async def fetch(skip: int) -> list[Any]:
            params: dict[str, str | int] = {"select": select, "skip": skip}
            reply = await self._session.send(operation, "GET", path, params=params)
            return reply.json_rows(feed)

        async for rows in skip_pages(fetch, select):
            for row in rows:
                yield row

    # --- programs ------------------------------------------------------------------------------

    async def enrol(self, program_id: int, contact_ids: list[int]) -> list[dict[str, Any]]:
        """Enrol contacts in a program, 25 per call; returns each enrolment as created."""
        enrolments = []
        for start in range(0, len(contact_ids), ENROLMENT_BATCH):
            body = {
                "programId": program_id,
                "contacts": contact_ids[start : start + ENROLMENT_BATCH],
            }
            reply = await self._session.send("enrol", "POST", "/v2/programs/enrolments", body=body)
            enrolments.append(reply.json_object("enrolment"))
        return enrolments


def _iso(moment: datetime) -> str:
    """UTC to the second with `Z`; truncation only widens a since-window, so nothing is missed."""
    if moment.tzinfo is None:
        raise ValueError("datetimes sent to Dotdigital must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_path(collection: str, key: str, email: str | None) -> str:
    if email is None:
        return f"/insightData/v3/account/{segment(collection)}/{segment(key)}"
    return f"/insightData/v3/contacts/email/{segment(email)}/{segment(collection)}/{segment(key)}"
