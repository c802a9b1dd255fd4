"""The package's layers: imports point down (ops -> api -> engine -> io), and pipelines use only the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "mr_luigi"
#: lower imports nothing higher; mr_luigi.errors is below everything, mr_luigi/__init__ above everything
RANK = {"errors": 0, "io": 1, "engine": 2, "api": 3, "ops": 4, "__init__": 5}


def _layer(module: str) -> str:
    """The layer of ``mr_luigi.io.splits`` (io), ``mr_luigi.errors`` (errors), ``mr_luigi`` (__init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every mr_luigi module a file imports (at any depth of its code), with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mr_luigi":
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "mr_luigi" else [node.module]
            found += [(name, node.lineno) for name in names]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "mr_luigi"]
    return found


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    assert {_layer(_module_of(p)) for p in MODULES} == set(RANK)
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "errors.py"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_of(p))
def test_imports_point_down_the_layers(path):
    source = _layer(_module_of(path))
    upward = []
    for name, line in _imports(path):
        target = _layer(name) if _layer(name) in RANK else "__init__"
        if name.startswith("mr_luigi.") and name.split(".")[1] not in RANK:  # from mr_luigi import <public name>
            target = "__init__"
        if RANK[target] > RANK[source]:
            upward.append(f"line {line}: {name} ({target} above {source})")
    assert not upward, upward


def test_the_bundled_pipelines_use_only_the_public_api():
    for path in sorted((REPO / "pipelines").glob("*.py")):
        inner = [(name, line) for name, line in _imports(path) if name.split(".")[1] in RANK and name != "mr_luigi"]
        assert not inner, f"{path.name} imports mr_luigi internals: {inner}"
