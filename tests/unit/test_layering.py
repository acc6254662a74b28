"""The package layering, read from the source: which layer may import which."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LAYERS = ("schemas", "connectors", "sandbox", "streams")

FORBIDDEN: dict[str, frozenset[str]] = {
    "schemas": frozenset(
        {"httpx", "faust", "aiokafka", "mode", "aiohttp", "connectors", "streams", "sandbox"}
    ),
    "connectors": frozenset({"faust", "aiokafka", "mode", "streams", "sandbox"}),
    "sandbox": frozenset({"streams", "connectors", "faust"}),
    "streams": frozenset({"sandbox"}),
}
# The CLI starts the local sandboxes on demand, importing them lazily inside its commands.
ALLOWED: frozenset[tuple[str, str]] = frozenset({("streams/cli.py", "sandbox")})
VAGUE_NAMES = frozenset({"utils", "helpers", "common", "misc"})


def sources(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, nested ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def violations(layer: str) -> list[str]:
    found = []
    for path in sources(layer):
        relative = path.relative_to(ROOT).as_posix()
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[layer] and (relative, top) not in ALLOWED:
                found.append(f"{relative}:{line} imports {module}")
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_has_sources(layer: str) -> None:
    assert sources(layer), f"no Python files under {layer}/"


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_it_may(layer: str) -> None:
    found = violations(layer)

    assert not found, "\n".join(found)


def test_cli_reaches_the_sandboxes_only_lazily() -> None:
    """Importing the CLI must not import the sandboxes (nor aiohttp with them)."""
    cli = ROOT / "streams" / "cli.py"
    tree = ast.parse(cli.read_text(), filename=str(cli))
    top_level = [
        f"streams/cli.py:{node.lineno} imports {module}"
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for module in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
        if module.split(".")[0] == "sandbox"
    ]

    assert top_level == []


def test_nested_and_from_imports_are_all_seen(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        "import os, faust.web\n"
        "from connectors.errors import RetriableError\n"
        "from . import sibling\n"
        "def lazy():\n"
        "    from sandbox.dotdigital import serve\n"
    )

    assert [name for _, name in imported_modules(module)] == [
        "os",
        "faust.web",
        "connectors.errors",
        "sandbox.dotdigital",
    ]


def test_no_module_has_a_vague_name() -> None:
    vague = [
        path.relative_to(ROOT).as_posix()
        for layer in LAYERS
        for path in sources(layer)
        if path.stem in VAGUE_NAMES
        or (path.name == "__init__.py" and path.parent.name in VAGUE_NAMES)
    ]

    assert not vague, "vague module names: " + ", ".join(vague)
