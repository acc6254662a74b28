"""Insight collections, record upserts and the rules a record's JSON must pass."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.account.insight import (
    Collection,
    CollectionRejected,
    FailureReason,
    InsightStore,
    json_problem,
    judge_record,
    key_problem,
)

KNOWN = {"ada@example.com": 7}


def find(email: str) -> int | None:
    return KNOWN.get(email.lower())


@pytest.mark.parametrize(
    ("doc", "reason", "path"),
    [
        ({"bad key": 1}, FailureReason.JSON_KEY_INVALID_CHARACTERS, "$.bad key"),
        ({"a": {"b.c": 1}}, FailureReason.JSON_KEY_INVALID_CHARACTERS, "$.a.b.c"),
        ({"items": [{"näme": 1}]}, FailureReason.JSON_KEY_INVALID_CHARACTERS, "$.items[0].näme"),
        ({"grid": [[1, 2]]}, FailureReason.JSON_CONTAINS_NESTED_ARRAY, "$.grid[0]"),
        ({"note": "x" * 1001}, FailureReason.JSON_VALUE_TOO_LONG, "$.note"),
        ({"lines": ["x" * 1001]}, FailureReason.JSON_VALUE_TOO_LONG, "$.lines[0]"),
        ([1, 2], FailureReason.JSON_INVALID, "$"),
    ],
)
def test_json_rules_name_the_first_offence(doc: object, reason: FailureReason, path: str) -> None:
    problem = json_problem(doc, max_string=1000)
    assert problem is not None
    assert (problem.reason, problem.path) == (reason, path)


def test_a_valid_order_passes() -> None:
    order = {
        "id": "000000123",
        "purchase-date": "2026-01-01 10:00:00",
        "products": [{"sku": "S1", "custom_options": [{"label": "x" * 1000}]}],
        "tags": ["a", "b"],
    }
    assert json_problem(order, max_string=1000) is None


@pytest.mark.parametrize("key", ["", None, 12, "k" * 256])
def test_record_keys_must_be_short_non_empty_strings(key: object) -> None:
    assert key_problem(key) is not None


def test_contact_record_for_an_unknown_email_is_rejected() -> None:
    raw = {
        "key": "1",
        "contactIdentity": {"identifier": "email", "value": "x@example.com"},
        "json": {},
    }
    verdict = judge_record(raw, "contact", find, 1000)
    assert verdict.problem is not None
    assert verdict.problem.reason is FailureReason.CONTACT_EMAIL_DOES_NOT_EXIST
    assert verdict.owner_label == "x@example.com"


def test_contact_record_is_owned_by_the_contact_id() -> None:
    raw = {
        "key": "1",
        "contactIdentity": {"identifier": "email", "value": "Ada@Example.com"},
        "json": {"a": 1},
    }
    verdict = judge_record(raw, "contact", find, 1000)
    assert verdict.problem is None
    assert verdict.owner == 7


def test_account_records_ignore_contact_identity() -> None:
    verdict = judge_record({"key": "sku-1", "json": {"a": 1}}, "account", find, 1000)
    assert verdict.problem is None
    assert verdict.owner is None


def test_put_upserts_by_owner_and_key() -> None:
    collection = Collection("Orders", "contact", "orders")
    assert collection.put(7, "1", {"v": 1}, 10.0) is True
    assert collection.put(7, "1", {"v": 2}, 20.0) is False
    assert collection.put(8, "1", {"v": 3}, 20.0) is True
    record = collection.get(7, "1")
    assert record is not None
    assert (record.json, record.created, record.updated) == ({"v": 2}, 10.0, 20.0)
    assert len(collection.records) == 2


@pytest.mark.parametrize("name", ["1Orders", "a", "Orders!", "has space", "x" * 257, None])
def test_collection_names_must_match_the_pattern(name: object) -> None:
    with pytest.raises(CollectionRejected):
        InsightStore(10).ensure(name, "contact", "orders")


def test_collection_scope_cannot_change() -> None:
    store = InsightStore(10)
    store.ensure("Orders", "contact", "orders")
    with pytest.raises(CollectionRejected) as rejected:
        store.ensure("Orders", "account", "orders")
    assert rejected.value.code == "insightData:collectionScopeMismatch"


def test_collection_limit_answers_412() -> None:
    store = InsightStore(1)
    store.ensure("Orders", "contact", "orders")
    with pytest.raises(CollectionRejected) as rejected:
        store.ensure("Catalog_Default", "account", "catalog")
    assert rejected.value.status == 412
