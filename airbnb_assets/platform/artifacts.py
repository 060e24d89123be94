"""The artefact store: files that are not tables (drift reports, the dashboard, the alert log).

Every artefact is written through :class:`ArtifactStore` (or :func:`append_line` for a log), so
where artefacts live is decided in one place: ``<root>/<env>/_artifacts`` locally; a Unity
Catalog volume path on Databricks (a ``/Volumes/...`` path is a plain file path there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` (UTF-8), creating its folder; return the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def append_line(path: str, line: str) -> str:
    """Append one line (a newline is added) to ``path``, creating its folder; return the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
    return path


@dataclass(frozen=True)
class ArtifactStore:
    """Artefacts of one environment, addressed by a relative path such as ``drift/2017-04-02/x.html``."""

    root: str

    def path(self, *parts: str) -> str:
        """Absolute location of an artefact (or folder) below the store's root."""
        return "/".join([self.root.rstrip("/"), *parts])

    def write_text(self, relative: str, text: str) -> str:
        """Write a text artefact; return its absolute path."""
        return write_text(self.path(relative), text)
