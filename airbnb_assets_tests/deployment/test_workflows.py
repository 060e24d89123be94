"""The GitHub Actions workflows: valid, triggered as documented, and running commands that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from airbnb_assets.cli import build_parser
from airbnb_assets_tests.deployment.files import (
    ACTIONLINT,
    DEPLOYMENT_DOC,
    REPO,
    WORKFLOWS,
    expressions,
    run,
    run_scripts,
    tool,
    workflow,
)

NAMES = ["ci.yml", "deploy-test.yml", "deploy-prod.yml"]


def _actionlint(*files: Path) -> tuple[int, str]:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: build it with `make tools`"
    result = run(str(ACTIONLINT), "-no-color", *map(str, files))  # shellcheck (PyPI) on PATH
    return result.returncode, result.stdout + result.stderr


def _broken(tmp_path: Path) -> Path:
    """ci.yml with an undefined job output in an expression and a misspelt runner key."""
    text = (REPO / ".github/workflows/ci.yml").read_text()
    text = text.replace("runs-on: ubuntu-24.04", "run-on: ubuntu-24.04")
    text = text.replace("if: ${{ !cancelled() }}", "if: ${{ needs.nothing.outputs.x }}")
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text)
    return broken


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == sorted(NAMES)


def test_actionlint_passes_with_shellcheck_and_fails_a_broken_workflow(tmp_path: Path) -> None:
    assert tool("shellcheck")
    code, output = _actionlint(*WORKFLOWS)
    assert code == 0, output
    code, output = _actionlint(_broken(tmp_path))
    assert code == 1
    assert '"runs-on" section is missing' in output and "needs.nothing" in output


def test_workflows_match_the_github_workflow_schema(tmp_path: Path) -> None:
    check = tool("check-jsonschema")
    result = run(check, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(check, "--builtin-schema", "vendor.github-workflows", str(_broken(tmp_path)))
    assert result.returncode == 1 and "run-on" in result.stdout


def test_triggers_environments_and_permissions() -> None:
    ci, test, prod = (workflow(n) for n in NAMES)
    assert {"pull_request", "push"} <= set(ci["on"])
    assert ci["permissions"] == {"contents": "read"}
    steps = ci["jobs"]["test"]["steps"]
    assert any(s.get("run") == ".ci/run" for s in steps), "ci.yml runs the README's test command"
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    caches = [s for s in steps if s.get("uses", "").startswith(("actions/cache", "astral-sh/setup-uv"))]
    assert "uv.lock" in str(caches) and ".ci/delta-jars.pom.xml" in str(caches)
    # The emulated Databricks runtime: CPython 3.12 (the container has 3.11) and its built layers.
    assert any("EMULATOR_PYTHON=" in s.get("run", "") and "3.12" in s["run"] for s in steps)
    assert "~/.cache/airbnb_assets/emulator" in str(caches) and "dbr_17_3.txt" in str(caches)

    assert test["on"]["workflow_run"] == {"workflows": ["ci"], "types": ["completed"], "branches": ["main"]}
    assert test["jobs"]["deploy"]["environment"] == "test"
    assert prod["on"] == {"push": {"tags": ["v*"]}}
    assert prod["jobs"]["deploy"]["environment"] == "production"
    for job in (test["permissions"], prod["jobs"]["deploy"]["permissions"]):
        assert job["id-token"] == "write", "Azure through OIDC federation, no stored cloud key"


def test_prod_promotes_the_image_test_smoke_tested() -> None:
    test = "\n".join(run_scripts(workflow("deploy-test.yml")))
    prod = "\n".join(run_scripts(workflow("deploy-prod.yml")))
    assert "docker build " in test and "docker build " not in prod, "PROD never rebuilds"
    assert test.index("job launch") < test.index(":tested-${SHA}"), "tested- only after the smoke run"
    assert ":tested-${GITHUB_SHA}" in prod


def test_every_secret_and_variable_is_documented() -> None:
    doc = DEPLOYMENT_DOC.read_text()
    for path in WORKFLOWS:
        text = path.read_text()
        for context in ("secrets", "vars"):
            for name in expressions(text, context):
                assert f"``{name}``" in doc, (
                    f"{path.name} uses {context}.{name}, not in {DEPLOYMENT_DOC.name}"
                )
    assert not re.search(
        r"(?i)(token|password|key)\s*:\s*['\"]?[A-Za-z0-9/+]{20,}", "".join(p.read_text() for p in WORKFLOWS)
    ), "a literal credential in a workflow"


def _commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, including those inside ``$(...)``."""
    found: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for word in [*lexer, ";"]:
            for inner in re.findall(r"\$\(([^()]*)\)", word):
                found += _commands(inner)
            if word in {"&&", "||", ";", "|", "(", ")", ">", ">>"}:
                while words and re.match(r"^[A-Za-z_]+=", words[0]):  # VAR=value prefix
                    words = words[1:]
                if words:
                    found.append(words)
                words = []
            else:
                words.append(word)
    return found


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text(), re.M))


def test_the_commands_workflows_run_exist() -> None:
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    targets = _makefile_targets()
    seen: set[str] = set()
    wanted: dict[tuple[str, ...], set[str]] = {}  # (tool, group...) -> subcommands it must list
    for path in WORKFLOWS:
        for script in run_scripts(workflow(path.name)):
            for words in _commands(script):
                if words[:3] == ["uv", "run", "--frozen"]:
                    words = words[3:]
                head = words[0]
                seen.add(head)
                if head == "make":
                    assert set(words[1:]) <= targets, f"{path.name}: {words}"
                elif head == "airbnb":
                    assert words[1] in subcommands, f"{path.name}: airbnb {words[1]} is not a command"
                elif head == "dagster-cloud":
                    wanted.setdefault((head, words[1]), set()).add(words[2])
                elif head == "keepachangelog":
                    wanted.setdefault((head,), set()).add(words[1])
                elif head.startswith("."):
                    assert (REPO / head).is_file(), f"{path.name}: {head} missing"
    assert {"airbnb", "dagster-cloud", ".ci/run", "keepachangelog"} <= seen
    for (name, *group), subs in wanted.items():
        result = run(tool(name), *group, "--help", env={"COLUMNS": "200"})
        assert result.returncode == 0, result.stderr
        listed = set(re.findall(r"^[│ ]*([a-z][a-z-]+)\s", result.stdout, re.M))
        listed |= (
            set(re.findall(r"\{([a-z,-]+)\}", result.stdout)[0].split(",")) if "{" in result.stdout else set()
        )
        assert subs <= listed, f"{name} {' '.join(group)}: {subs - listed} not in its --help"


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_to_a_major_version(name: str) -> None:
    text = (REPO / ".github/workflows" / name).read_text()
    for action in re.findall(r"uses:\s*(\S+)", text):
        assert re.search(r"@v\d+$", action), f"{name}: {action} is not pinned to a release"
