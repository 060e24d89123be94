"""``make setup``'s environment: the libraries are installed with their bytecode compiled.

Where ``PYTHONDONTWRITEBYTECODE`` is set (as on this project's CI machines), Python never writes
the ``.pyc`` it compiles: without compiled libraries every process -- a run, a test worker, a CLI
call, a Spark Python worker -- compiled the stack's imports again (16 s of them, 8 s compiled).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

#: The heavy imports of a daily run.
LIBRARIES = ("dagster", "mlflow", "pyspark", "pandas", "sklearn", "evidently", "sqlalchemy", "alembic")


@pytest.mark.parametrize("name", LIBRARIES)
def test_the_library_is_installed_with_its_bytecode(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    source = Path(module.__file__)
    assert source.is_relative_to(sys.prefix), f"{name} is not from this environment ({source})"
    compiled = Path(importlib.util.cache_from_source(str(source)))
    assert compiled.exists(), (
        f"{name} has no compiled bytecode ({compiled.name} missing): the environment was not built by "
        "`make setup` (`uv sync --frozen --compile-bytecode`); run `rm .venv/.synced && make setup`"
    )
