"""Paths and readers shared by the deployment tests (no test functions here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
DEPLOYMENT_DOC = REPO / "docs" / "deployment.rst"
#: Built by ``make tools`` (a prerequisite of ``make test``).
ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"
VENV_BIN = Path(sys.executable).parent


def workflow(name: str) -> dict[str, Any]:
    """A workflow file parsed as YAML (``on`` stays a string key, as GitHub reads it)."""
    text = (REPO / ".github" / "workflows" / name).read_text()
    data: dict[str, Any] = yaml.load(text, Loader=_GitHubLoader)
    return data


class _GitHubLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: ``on:`` is a key, not ``True``."""


_GitHubLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def run_scripts(data: dict[str, Any]) -> list[str]:
    """Every ``run:`` script of a workflow, in order."""
    return [step["run"] for job in data["jobs"].values() for step in job.get("steps", []) if "run" in step]


def expressions(text: str, context: str) -> set[str]:
    """Names used as ``${{ <context>.NAME }}`` in ``text`` (``secrets``, ``vars``)."""
    return set(re.findall(rf"\b{context}\.([A-Za-z_][A-Za-z0-9_]*)", text))


def tool(name: str) -> str:
    """A command-line tool of the locked environment (next to this interpreter), else from PATH."""
    local = VENV_BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed: run `make setup`"
    return found


def run(*argv: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output as text; PATH starts with the locked environment's bin."""
    full_env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
