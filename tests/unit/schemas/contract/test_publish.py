"""The published contract files: committed files match the models, rendered deterministically."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from schemas.contract.publish import (
    ASYNCAPI_FILE,
    SCHEMA_DIR,
    asyncapi,
    json_schema,
    main,
    render,
    schema_file,
    yaml_lines,
)
from schemas.contract.registry import EMAIL, TOPICS, normalized, topic

CONTRACT = Path(__file__).parents[4] / "contract"


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
