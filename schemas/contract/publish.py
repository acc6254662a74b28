"""Renders the published contract (JSON Schemas and an AsyncAPI document); `python -m` writes it."""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.contract.registry import CONTRACT_VERSION, TOPICS, PublishedTopic

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMA_DIR = "schemas"
KAFKA_BINDING_VERSION = "0.5.0"

GUIDE = (
    "The Kafka topics Cartwright publishes. The normalized topics are the public, versioned "
    "contract; the operational ones are for operators and tooling. See README.md beside this file."
)


def schema_file(topic: PublishedTopic) -> str:
    """Where a topic's JSON Schema lives, relative to the contract directory."""
    return f"{SCHEMA_DIR}/{topic.name}.json"


def json_schema(topic: PublishedTopic) -> dict[str, Any]:
    """The JSON Schema of a topic's message value (a union when the topic carries several models)."""
    if len(topic.models) == 1:
        body = topic.models[0].model_json_schema(by_alias=True, mode="serialization")
    else:
        refs, definitions = models_json_schema(
            [(model, "serialization") for model in topic.models], by_alias=True
        )
        body = {
            "title": " or ".join(model.__name__ for model in topic.models),
            "anyOf": [refs[(model, "serialization")] for model in topic.models],
            **definitions,
        }
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:cartwright:contract:{topic.name}",
        **body,
        "x-kafka-topic": topic.name,
        "x-kafka-key": topic.key,
        "x-schema-version": topic.schema_version,
    }


def _summary(model: type[BaseModel]) -> str:
    """The first line of the model's docstring, as its JSON Schema `description` begins."""
    return inspect.cleandoc(model.__doc__).splitlines()[0] if model.__doc__ else model.__name__


def _payload_ref(topic: PublishedTopic, index: int) -> str:
    if len(topic.models) == 1:
        return f"./{schema_file(topic)}"
    return f"./{schema_file(topic)}#/$defs/{topic.models[index].__name__}"


def asyncapi(topics: Sequence[PublishedTopic] = TOPICS) -> dict[str, Any]:
    """The AsyncAPI 3.0 document: the servers, one channel per topic, and what Cartwright sends."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics:
        messages = {
            model.__name__: {
                "name": model.__name__,
                "title": f"{model.__name__} on {topic.name}",
                "summary": _summary(model),
                "contentType": "application/json",
                "payload": {"$ref": _payload_ref(topic, index)},
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": topic.key},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
                "x-schema-version": topic.schema_version,
            }
            for index, model in enumerate(topic.models)
        }
        channels[topic.channel_id] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"{topic.kind.capitalize()} topic. Key: {topic.key}.",
            "messages": messages,
            "bindings": {"kafka": {"topic": topic.name, "bindingVersion": KAFKA_BINDING_VERSION}},
            "x-kafka-key": topic.key,
            "x-schema-file": schema_file(topic),
        }
        operations[f"send_{topic.channel_id}"] = {
            "action": "send",
            "summary": f"Cartwright publishes to {topic.name}",
            "channel": {"$ref": f"#/channels/{topic.channel_id}"},
            "messages": [
                {"$ref": f"#/channels/{topic.channel_id}/messages/{name}"} for name in messages
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:cartwright:contract",
        "info": {"title": "Cartwright topics", "version": CONTRACT_VERSION, "description": GUIDE},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded Kafka-protocol broker `make run` starts (in memory).",
            },
            "production": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "Your Apache Kafka cluster (CARTWRIGHT_KAFKA__BOOTSTRAP).",
                "variables": {
                    "bootstrap": {
                        "default": "kafka:9092",
                        "description": "a bootstrap server, host:port",
                    }
                },
            },
        },
        "channels": channels,
        "operations": operations,
    }


def render(topics: Sequence[PublishedTopic] = TOPICS) -> dict[str, str]:
    """Every generated file, by path relative to the contract directory, as the exact text."""
    files = {
        schema_file(topic): json.dumps(json_schema(topic), indent=2, sort_keys=True) + "\n"
        for topic in sorted(topics, key=lambda topic: topic.name)
    }
    files[ASYNCAPI_FILE] = "\n".join(yaml_lines(asyncapi(topics))) + "\n"
    return files


# YAML by hand: the document holds only mappings, lists, strings and ints, and JSON's double-quoted
# strings are valid YAML, so a small emitter beats a dependency.
_PLAIN = re.compile(r"[A-Za-z$][A-Za-z0-9_$./-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def yaml_scalar(value: object) -> str:
    """A scalar as YAML: plain when unambiguous, else a double-quoted (JSON) string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def yaml_lines(value: object, depth: int = 0) -> list[str]:
    """Block-style YAML lines for a mapping or list, in its own order (callers order the keys)."""
    pad = "  " * depth
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{yaml_scalar(str(key))}:")
                lines.extend(yaml_lines(item, depth + 1))
            else:
                lines.append(f"{pad}{yaml_scalar(str(key))}: {_inline(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = yaml_lines(item, depth + 1)
                lines.append(f"{pad}- {nested[0].removeprefix(pad + '  ')}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        raise TypeError(f"a YAML document is a mapping or a list, not {type(value).__name__}")
    return lines


def _inline(value: object) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with `--check`, compare) the generated files under the contract directory."""
    parser = argparse.ArgumentParser(prog="python -m schemas.contract.publish", description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[2] / "contract", help="contract dir"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files are out of date"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    files = render()
    stale = sorted(
        path
        for path in (out / SCHEMA_DIR).glob("*.json")
        if path.relative_to(out).as_posix() not in files
    )
    changed = [
        name
        for name, text in files.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    if args.check:
        for name in [*changed, *(path.relative_to(out).as_posix() for path in stale)]:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if changed or stale else 0
    for path in stale:
        path.unlink()
    for name in changed:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(files[name], encoding="utf-8")
    print(f"{out}: {len(changed)} written, {len(stale)} removed, {len(files)} generated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
