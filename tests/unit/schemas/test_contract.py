"""The published contract: committed files match the models, and every topic is in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from schemas.contract import EMAIL, TOPICS, PublishedTopic, normalized, operational, topic
from schemas.normalized import OrderUpdated
from schemas.publish import (
    ASYNCAPI_FILE,
    SCHEMA_DIR,
    asyncapi,
    json_schema,
    main,
    render,
    schema_file,
    yaml_lines,
)
from streams.runtime.topics import ALL_TOPICS, RAW

CONTRACT = Path(__file__).parents[3] / "contract"
REGENERATE = "the published contract is out of date: run `make contract` and commit contract/"


def test_committed_files_match_the_models() -> None:
    generated = render()
    on_disk = {
        path.relative_to(CONTRACT).as_posix()
        for path in [*(CONTRACT / SCHEMA_DIR).glob("*.json"), CONTRACT / ASYNCAPI_FILE]
        if path.is_file()
    }

    missing = sorted(set(generated) - on_disk)
    stale = sorted(on_disk - set(generated))
    changed = sorted(
        name
        for name in set(generated) & on_disk
        if (CONTRACT / name).read_text(encoding="utf-8") != generated[name]
    )

    assert not (missing or stale or changed), (
        f"{REGENERATE} (missing: {missing}, no longer generated: {stale}, changed: {changed})"
    )


def test_every_topic_but_the_raw_log_is_published() -> None:
    published = {entry.name for entry in TOPICS}

    unpublished = [name for name in ALL_TOPICS if name != RAW and name not in published]

    assert not unpublished, f"add these to TOPICS in schemas/contract.py: {unpublished}"
    assert RAW not in published


def test_topic_names_are_unique_and_versioned() -> None:
    names = [entry.name for entry in TOPICS]

    assert len(names) == len(set(names))
    assert all(entry.major == 1 and entry.schema_version == 1 for entry in TOPICS)
    assert all(entry.key and entry.models for entry in TOPICS)


def test_normalized_topics_are_keyed_by_email() -> None:
    assert topic("commerce.orders.v1").models == (OrderUpdated,)
    assert topic("commerce.orders.v1").kind == "normalized"
    assert topic("commerce.customers.v1").key == EMAIL
    assert topic("cartwright.deadletter.v1").kind == "operational"
    with pytest.raises(KeyError):
        topic(RAW)


def test_a_topic_name_without_a_version_is_refused() -> None:
    with pytest.raises(ValueError, match="not named like"):
        _ = normalized("commerce.orders", EMAIL, OrderUpdated).major


def test_schema_carries_topic_key_and_version() -> None:
    schema = json_schema(topic("commerce.orders.v1"))

    assert schema["$id"] == "urn:cartwright:contract:commerce.orders.v1"
    assert schema["title"] == "OrderUpdated"
    assert schema["x-kafka-topic"] == "commerce.orders.v1"
    assert schema["x-kafka-key"] == EMAIL
    assert schema["x-schema-version"] == 1
    # Money is serialized as decimal strings, and the schema says so.
    assert schema["properties"]["grand_total"]["type"] == "string"


class _Subscribed(BaseModel):
    schema_version: int = 2
    email: str


class _Unsubscribed(BaseModel):
    schema_version: int = 2
    email: str
    reason: str


def test_a_topic_with_several_models_publishes_their_union() -> None:
    consent = normalized("consent.v2", EMAIL, _Subscribed, _Unsubscribed)

    schema = json_schema(consent)
    document = asyncapi([consent])

    assert schema["anyOf"] == [
        {"$ref": "#/$defs/_Subscribed"},
        {"$ref": "#/$defs/_Unsubscribed"},
    ]
    assert set(schema["$defs"]) == {"_Subscribed", "_Unsubscribed"}
    assert schema["x-schema-version"] == 2
    messages = document["channels"]["consent_v2"]["messages"]
    assert messages["_Unsubscribed"]["payload"] == {
        "$ref": "./schemas/consent.v2.json#/$defs/_Unsubscribed"
    }


def test_models_that_disagree_on_their_version_are_refused() -> None:
    class Older(BaseModel):
        schema_version: int = 1

    with pytest.raises(ValueError, match="disagree"):
        _ = operational("consent.v1", EMAIL, Older, _Subscribed).schema_version


def test_asyncapi_names_each_topic_its_key_and_its_schema_file() -> None:
    document = asyncapi()
    generated = render()

    assert document["asyncapi"] == "3.0.0"
    assert set(document["servers"]) == {"local", "production"}
    for entry in TOPICS:
        channel = document["channels"][entry.channel_id]
        assert channel["address"] == entry.name
        assert channel["x-kafka-key"] == entry.key
        for message in channel["messages"].values():
            assert message["bindings"]["kafka"]["key"]["description"] == entry.key
            assert message["payload"] == {"$ref": f"./{schema_file(entry)}"}
        assert schema_file(entry) in generated
        assert document["operations"][f"send_{entry.channel_id}"]["action"] == "send"


def test_rendering_is_deterministic() -> None:
    assert render() == render()


def test_yaml_quotes_whatever_a_plain_scalar_would_misread() -> None:
    document = {
        "asyncapi": "3.0.0",
        "plain": "application/json",
        "reserved": "no",
        "ref": {"$ref": "#/channels/x"},
        "spaced": 'say "hi": twice',
        "count": 3,
        "flag": True,
        "empty": {},
        "list": [{"a": 1, "b": [1, "on"]}, "x"],
    }

    assert yaml_lines(document) == [
        'asyncapi: "3.0.0"',
        "plain: application/json",
        'reserved: "no"',
        "ref:",
        '  $ref: "#/channels/x"',
        'spaced: "say \\"hi\\": twice"',
        "count: 3",
        "flag: true",
        "empty: {}",
        "list:",
        "  - a: 1",
        "    b:",
        "      - 1",
        '      - "on"',
        "  - x",
    ]


def test_generator_writes_then_finds_nothing_to_do(tmp_path: Path) -> None:
    (tmp_path / SCHEMA_DIR).mkdir()
    (tmp_path / SCHEMA_DIR / "commerce.gone.v1.json").write_text("{}\n")

    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert main(["--out", str(tmp_path)]) == 0

    assert main(["--out", str(tmp_path), "--check"]) == 0
    assert not (tmp_path / SCHEMA_DIR / "commerce.gone.v1.json").exists()
    assert {
        path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()
    } == set(render())


def test_check_reports_a_hand_edited_file(tmp_path: Path) -> None:
    main(["--out", str(tmp_path)])
    (tmp_path / ASYNCAPI_FILE).write_text("asyncapi: edited\n")

    assert main(["--out", str(tmp_path), "--check"]) == 1


def test_published_topic_is_a_value() -> None:
    entry = normalized("commerce.orders.v1", EMAIL, OrderUpdated)

    assert entry == topic("commerce.orders.v1")
    assert isinstance(entry, PublishedTopic)
