"""Insight data collections and records, and the rules a record must pass (no HTTP)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

COLLECTION_NAME = re.compile(r"^[-A-Za-z_][-A-Za-z0-9_]{1,255}$")
JSON_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
SCOPES = frozenset({"contact", "account"})
MAX_RECORD_KEY_LENGTH = 255  # not published; record keys travel in URL paths


class FailureReason(StrEnum):
    """Why one record of an import was rejected."""

    CONTACT_EMAIL_DOES_NOT_EXIST = "ContactEmailDoesNotExist"
    JSON_KEY_INVALID_CHARACTERS = "JsonKeyInvalidCharacters"
    JSON_CONTAINS_NESTED_ARRAY = "JsonContainsNestedArray"
    JSON_VALUE_TOO_LONG = "JsonValueTooLong"
    # Not in Dotdigital's published list: the sandbox's names for records it cannot read.
    KEY_INVALID = "KeyInvalid"
    JSON_INVALID = "JsonInvalid"
    CONTACT_IDENTITY_INVALID = "ContactIdentityInvalid"


class CollectionRejected(ValueError):
    """A collection that cannot be created or used as asked; `code` is the v3 error code."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Problem:
    """A rule a record broke, and where in its JSON."""

    reason: FailureReason
    path: str


@dataclass
class Record:
    """One stored record."""

    key: str
    json: dict[str, Any]
    created: float
    updated: float


@dataclass
class Collection:
    """A named collection; contact records are owned by a contact id, account records by None."""

    name: str
    scope: str
    type: str
    records: dict[tuple[int | None, str], Record] = field(default_factory=dict)

    def put(self, owner: int | None, key: str, doc: dict[str, Any], now: float) -> bool:
        """Upsert by (owner, key); True when the record is new."""
        existing = self.records.get((owner, key))
        if existing is None:
            self.records[(owner, key)] = Record(key, doc, now, now)
            return True
        existing.json = doc
        existing.updated = now
        return False

    def get(self, owner: int | None, key: str) -> Record | None:
        return self.records.get((owner, key))

    def delete(self, owner: int | None, key: str) -> bool:
        """Remove a record (as a user does in Dotdigital's UI); True when there was one."""
        return self.records.pop((owner, key), None) is not None

    def owned_by(self, owner: int | None) -> list[Record]:
        return [r for (o, _), r in self.records.items() if o == owner]


def json_problem(doc: object, max_string: int) -> Problem | None:
    """The first rule the record JSON breaks, or None. The document must be an object."""
    if not isinstance(doc, dict):
        return Problem(FailureReason.JSON_INVALID, "$")
    return next(_problems(doc, "$", max_string, inside_array=False), None)


def _problems(
    value: object, path: str, max_string: int, *, inside_array: bool
) -> Iterator[Problem]:
    if isinstance(value, dict):
        for key, child in value.items():
            if not JSON_KEY.match(key):
                yield Problem(FailureReason.JSON_KEY_INVALID_CHARACTERS, f"{path}.{key}")
            yield from _problems(child, f"{path}.{key}", max_string, inside_array=False)
    elif isinstance(value, list):
        if inside_array:
            yield Problem(FailureReason.JSON_CONTAINS_NESTED_ARRAY, path)
        for index, child in enumerate(value):
            yield from _problems(child, f"{path}[{index}]", max_string, inside_array=True)
    elif isinstance(value, str) and len(value) > max_string:
        yield Problem(FailureReason.JSON_VALUE_TOO_LONG, path)


def key_problem(key: object) -> Problem | None:
    """A record key must be a non-empty string of at most MAX_RECORD_KEY_LENGTH characters."""
    if isinstance(key, str) and 0 < len(key) <= MAX_RECORD_KEY_LENGTH:
        return None
    return Problem(FailureReason.KEY_INVALID, "key")


@dataclass(frozen=True)
class Verdict:
    """One import record judged: accepted with its owner, or rejected with a problem."""

    key: str
    owner: int | None
    owner_label: str
    doc: dict[str, Any]
    problem: Problem | None


def judge_record(
    raw: object, scope: str, find_contact: Callable[[str], int | None], max_string: int
) -> Verdict:
    """Apply every record rule; `find_contact` maps an email to a contact id or None."""
    if not isinstance(raw, dict):
        return Verdict("", None, "", {}, Problem(FailureReason.JSON_INVALID, "$"))
    key = raw.get("key")
    doc = raw.get("json")
    problem = key_problem(key) or json_problem(doc, max_string)
    owner: int | None = None
    label = "account"
    if scope == "contact":
        identity = raw.get("contactIdentity")
        email = identity.get("value") if isinstance(identity, dict) else None
        label = email if isinstance(email, str) else ""
        if problem is None:
            owner, problem = _owner(identity, find_contact)
    return Verdict(
        key if isinstance(key, str) else "",
        owner,
        label,
        doc if isinstance(doc, dict) else {},
        problem,
    )


def _owner(
    identity: object, find_contact: Callable[[str], int | None]
) -> tuple[int | None, Problem | None]:
    """The contact a `contactIdentity` names, or the problem with it."""
    if not isinstance(identity, dict) or identity.get("identifier", "email") != "email":
        return None, Problem(FailureReason.CONTACT_IDENTITY_INVALID, "contactIdentity")
    email = identity.get("value")
    if not isinstance(email, str):
        return None, Problem(FailureReason.CONTACT_IDENTITY_INVALID, "contactIdentity.value")
    owner = find_contact(email)
    if owner is None:
        return None, Problem(FailureReason.CONTACT_EMAIL_DOES_NOT_EXIST, "contactIdentity")
    return owner, None


class InsightStore:
    """Every collection of the account."""

    def __init__(self, max_collections: int) -> None:
        self._max = max_collections
        self._collections: dict[str, Collection] = {}

    def get(self, name: str) -> Collection | None:
        return self._collections.get(name)

    def ensure(self, name: object, scope: object, kind: object) -> Collection:
        """The named collection, created when missing; CollectionRejected when it cannot be."""
        if not isinstance(name, str) or not COLLECTION_NAME.match(name):
            raise CollectionRejected(
                "insightData:badJson",
                "collectionName must match ^[-A-Za-z_][-A-Za-z0-9_]{1,255}$.",
            )
        if scope not in SCOPES:
            raise CollectionRejected(
                "insightData:badJson", "collectionScope must be contact or account."
            )
        existing = self._collections.get(name)
        if existing is not None:
            if existing.scope != scope:
                raise CollectionRejected(
                    "insightData:collectionScopeMismatch",
                    f"Collection {name} has scope {existing.scope}, not {scope}.",
                )
            return existing
        if len(self._collections) >= self._max:
            raise CollectionRejected(
                "insightData:collectionLimitReached",
                f"The account already has {self._max} collections.",
                status=412,
            )
        collection = Collection(name, str(scope), kind if isinstance(kind, str) else "custom")
        self._collections[name] = collection
        return collection

    def owned_by(self, owner: int | None) -> dict[str, list[Record]]:
        """Per collection, the records `owner` (a contact id, or None: the account) has."""
        found = {name: c.owned_by(owner) for name, c in self._collections.items()}
        return {name: records for name, records in found.items() if records}

    def counts(self) -> dict[str, int]:
        """Records per collection."""
        return {name: len(c.records) for name, c in self._collections.items()}
