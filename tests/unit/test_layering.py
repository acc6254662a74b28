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
ALLOWED: frozenset[tuple[str, str]] = frozenset({("streams/cli/main.py", "sandbox")})
VAGUE_NAMES = frozenset({"utils", "helpers", "common", "misc"})


# The stages of streams/, each allowed to import itself and what is listed (and streams.settings,
# a leaf every stage reads). Sources, process and sinks do not import each other: they meet only
# through topics, wired together in streams/app.py.
STAGES: dict[str, frozenset[str]] = {
    "runtime": frozenset(),
    "sources": frozenset({"runtime"}),
    "process": frozenset({"runtime"}),
    "sinks": frozenset({"runtime"}),
    "ops": frozenset({"runtime", "sources", "process", "sinks"}),
    "cli": frozenset({"runtime", "sources", "process", "sinks", "ops", "app"}),
}
TOP_MODULES = frozenset({"app", "settings", "__main__", "__init__"})
SOURCE_FOLDERS = ("schemas", "connectors", "streams", "sandbox")
MAX_MODULES_PER_FOLDER = 12


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


def stage_of(module: str) -> str | None:
    """The stage folder (or top module) of a `streams.*` module name."""
    parts = module.split(".")
    return parts[1] if parts[0] == "streams" and len(parts) > 1 else None


def stage_violations() -> list[str]:
    found = []
    for path in sources("streams"):
        relative = path.relative_to(ROOT / "streams")
        here = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if here in TOP_MODULES:
            continue
        allowed = STAGES[here] | {here, "settings"}
        for line, module in imported_modules(path):
            there = stage_of(module)
            if there is not None and there not in allowed:
                found.append(f"streams/{relative.as_posix()}:{line} ({here}) imports {module}")
    return found


def test_streams_stages_import_only_downward() -> None:
    """sources/process/sinks → runtime → connectors → schemas; ops and cli on top."""
    assert stage_violations() == []


def test_every_streams_module_sits_in_a_stage_or_at_the_top() -> None:
    loose = [path.name for path in (ROOT / "streams").glob("*.py") if path.stem not in TOP_MODULES]
    folders = {path.name for path in (ROOT / "streams").iterdir() if path.is_dir()}

    assert loose == []
    assert folders - {"__pycache__"} == set(STAGES)


def test_a_stage_importing_a_sibling_stage_is_seen(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("from streams.process.join import Joiner\n")
    _line, name = next(imported_modules(module))

    assert stage_of(name) == "process"
    assert stage_of(name) not in STAGES["sinks"]


def test_no_source_folder_holds_more_than_twelve_modules() -> None:
    crowded = {
        folder.relative_to(ROOT).as_posix(): count
        for top in SOURCE_FOLDERS
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"]))
        > MAX_MODULES_PER_FOLDER
    }

    assert crowded == {}


def test_every_package_says_what_it_owns() -> None:
    silent = [
        init.relative_to(ROOT).as_posix()
        for top in SOURCE_FOLDERS
        for init in sorted((ROOT / top).rglob("__init__.py"))
        if not ast.get_docstring(ast.parse(init.read_text()))
    ]

    assert silent == []


def test_cli_reaches_the_sandboxes_only_lazily() -> None:
    """Importing the CLI must not import the sandboxes (nor aiohttp with them)."""
    cli = ROOT / "streams" / "cli" / "main.py"
    tree = ast.parse(cli.read_text(), filename=str(cli))
    top_level = [
        f"streams/cli/main.py:{node.lineno} imports {module}"
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
