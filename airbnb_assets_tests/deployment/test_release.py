"""Versions come from git tags, and CHANGELOG.md gives each release its notes."""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import keepachangelog

import airbnb_assets
from airbnb_assets_tests.deployment.files import REPO, run, tool


def test_installed_version_is_the_package_version() -> None:
    assert airbnb_assets.__version__ == metadata.version("airbnb_assets")


def _git(repo: Path, *argv: str) -> None:
    result = run("git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", *argv, cwd=repo)
    assert result.returncode == 0, result.stderr


def test_a_tag_is_the_version(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    _git(repo, "tag", "v1.2.3")
    version = run(tool("python"), "-m", "setuptools_scm", cwd=repo)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "1.2.3"
    (repo / "later.txt").write_text("x")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "later")
    assert run(tool("python"), "-m", "setuptools_scm", cwd=repo).stdout.strip().startswith("1.2.4.dev1+g")


def test_changelog_follows_keep_a_changelog_and_releases(tmp_path: Path) -> None:
    changes = keepachangelog.to_dict(str(REPO / "CHANGELOG.md"), show_unreleased=True)
    assert changes["unreleased"]["added"], "an Unreleased section with Added entries"
    assert set(changes["unreleased"]) - {"metadata"} <= {
        "added",
        "changed",
        "deprecated",
        "removed",
        "fixed",
        "security",
    }
    # What a release does (docs/deployment.rst): the notes move to a version that deploy-prod shows.
    copy = tmp_path / "CHANGELOG.md"
    shutil.copy2(REPO / "CHANGELOG.md", copy)
    assert run(tool("keepachangelog"), "release", "1.2.3", "-f", str(copy)).returncode == 0
    shown = run(tool("keepachangelog"), "show", "1.2.3", str(copy))
    assert shown.returncode == 0 and "CI/CD over DEV" in shown.stdout
    assert run(tool("keepachangelog"), "show", "9.9.9", str(copy)).returncode != 0
