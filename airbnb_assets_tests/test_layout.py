"""The import rules each room's ``__init__`` states, checked on the package's real import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "airbnb_assets"

#: Module prefix → prefixes of ``airbnb_assets`` modules it must never import.
FORBIDDEN = {
    "airbnb_assets.platform": (
        "airbnb_assets.ingest",
        "airbnb_assets.silver",
        "airbnb_assets.gold",
        "airbnb_assets.ml",
        "airbnb_assets.monitoring",
        "airbnb_assets.resources",
        "airbnb_assets.environments",
    ),
    "airbnb_assets.resources": (
        "airbnb_assets.ingest",
        "airbnb_assets.silver",
        "airbnb_assets.gold",
        "airbnb_assets.ml",
        "airbnb_assets.monitoring",
    ),
    "airbnb_assets.environments": (
        "airbnb_assets.ingest",
        "airbnb_assets.silver",
        "airbnb_assets.gold",
        "airbnb_assets.ml",
        "airbnb_assets.monitoring",
    ),
    "airbnb_assets.monitoring.drift": (
        "airbnb_assets.monitoring.alerts",
        "airbnb_assets.monitoring.dashboard",
    ),
    "airbnb_assets.monitoring.alerts": (
        "airbnb_assets.monitoring.drift",
        "airbnb_assets.monitoring.dashboard",
        "airbnb_assets.ml",
    ),
    "airbnb_assets.monitoring.dashboard": (
        "airbnb_assets.monitoring.drift",
        "airbnb_assets.monitoring.alerts",
    ),
    "airbnb_assets.ml": ("airbnb_assets.monitoring",),
    "airbnb_assets.gold": ("airbnb_assets.ml", "airbnb_assets.monitoring"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``airbnb_assets`` module ``path`` imports, at any depth (including lazy imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith("airbnb_assets")}


MODULES = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_only_what_its_docstring_allows(room: str) -> None:
    members = {m: imports for m, imports in MODULES.items() if m == room or m.startswith(room + ".")}
    assert members, f"no module under {room}"
    broken = sorted(
        f"{m} imports {i}"
        for m, imports in members.items()
        for i in imports
        if any(i == f or i.startswith(f + ".") for f in FORBIDDEN[room])
    )
    assert broken == []


def test_no_module_rebuilds_an_asset_key_from_a_table_name() -> None:
    offenders = sorted(
        str(p.relative_to(PACKAGE.parent))
        for p in PACKAGE.rglob("*.py")
        if '.split("/"))' in p.read_text(encoding="utf-8") and "AssetKey" in p.read_text(encoding="utf-8")
    )
    assert offenders == []


def test_only_the_adapter_module_uses_dagsters_private_api() -> None:
    private = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.startswith("dagster._") for n in names):
                private.add(_module_name(path))
    assert private == {"airbnb_assets.dagster_internals"}


def _decorators(path: Path) -> set[str]:
    """Names of the decorators ``path`` applies (``spark_asset``, ``dg.multi_asset``, ...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                found.add(ast.unparse(d.func if isinstance(d, ast.Call) else d))
    return found


def test_assets_are_declared_one_way_in_assets_modules() -> None:
    """Every asset is declared with ``platform.declare.spark_asset``, in a room's ``assets`` module
    (``assets.py``, or a module of an ``assets/`` package); only the Pipes twins (built from those)
    apply a Dagster asset decorator themselves."""
    decorators = {_module_name(p): _decorators(p) for p in sorted(PACKAGE.rglob("*.py"))}
    declared = {m for m, names in decorators.items() if "spark_asset" in names}
    raw = {m for m, names in decorators.items() if names & {"dg.asset", "dg.multi_asset"}}
    assert raw == {"airbnb_assets.pipes"}
    misplaced = sorted(m for m in declared if not (m.endswith(".assets") or ".assets." in m))
    assert len(declared) == 7 and misplaced == []  # one module per asset definition
