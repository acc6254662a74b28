"""Table digests: a fingerprint per partition that changes with any key or value, not with order."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP
from pydantic import SecretStr

from streams.ops.endpoints import register_ops
from streams.ops.table_digest import digest
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.settings import Settings, WebSettings

EMPTY = hashlib.sha256().hexdigest()


def test_the_digest_does_not_depend_on_the_order_of_the_pairs() -> None:
    pairs = [(b"ada@example.com", b'{"a":1}'), (b"alan@example.com", b'{"b":2}')]

    assert digest(pairs) == digest(reversed(pairs))
    assert digest(pairs).keys == 2


def test_any_changed_value_or_key_changes_the_digest() -> None:
    base = digest([(b"k1", b"v1"), (b"k2", b"v2")])

    assert digest([(b"k1", b"v1"), (b"k2", b"v3")]) != base
    assert digest([(b"k1", b"v1"), (b"k3", b"v2")]) != base
    assert digest([(b"k1", b"v1")]) != base


def test_pairs_cannot_be_confused_by_moving_bytes_between_key_and_value() -> None:
    assert digest([(b"ab", b"c")]).sha256 != digest([(b"a", b"bc")]).sha256


def test_an_empty_partition_has_no_keys_and_a_fixed_digest() -> None:
    assert digest([]).as_json() == {"keys": 0, "sha256": EMPTY}


class HeldAssignor:
    """The assignor as the digest page reads it: which changelog partitions are active here."""

    def assigned_actives(self) -> set[TP]:
        return {TP("ops-test-contacts-changelog", 0), TP("ops-test-contacts-changelog", 1)}


@pytest.fixture
async def tables() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app: Any = faust.App("ops-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.assignor = HeldAssignor()
    contacts = bytes_table(app, "contacts", 4)
    store = contacts.data
    store.data.update({b"ada@example.com": b"consent", b"alan@example.com": b"orders"})
    store._key_partition.update({b"ada@example.com": 1, b"alan@example.com": 3})
    settings = Settings(web=WebSettings(ops_token=SecretStr("ops-secret")))
    register_ops(app, settings, Metrics())
    async with TestClient(TestServer(app.web.web_app)) as client:
        yield client


async def test_the_tables_page_shows_counts_and_digests_of_held_partitions_only(
    tables: TestClient[web.Request, web.Application],
) -> None:
    refused = await tables.get("/ops/tables")
    response = await tables.get("/ops/tables", headers={"Authorization": "Bearer ops-secret"})

    assert refused.status == 401
    body = await response.json()
    assert body["tables"] == {
        "contacts": {
            "changelog": "ops-test-contacts-changelog",
            "partitions": {
                "0": {"keys": 0, "sha256": EMPTY},
                "1": digest([(b"ada@example.com", b"consent")]).as_json(),
            },
        }
    }
    assert "ada@example.com" not in await response.text()  # digests, never the data
