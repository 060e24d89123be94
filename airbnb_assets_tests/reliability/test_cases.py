"""The documented case table and the tests agree: every case names a test that exists here."""

from __future__ import annotations

import ast
from pathlib import Path

from airbnb_assets_tests.reliability.cases import CASES


def test_every_case_is_tested_exactly_once() -> None:
    defined: list[str] = []
    for path in Path(__file__).parent.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined += [
            n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
        ]
    named = [case.test for case in CASES]
    assert sorted(set(named)) == sorted(named), "two cases name the same test"
    assert [name for name in named if name not in defined] == []
    assert len({case.id for case in CASES}) == len(CASES)
