"""The artefact store: files that are not tables (drift reports, the dashboard, the alert log).

Every artefact is written through :class:`ArtifactStore` (or :func:`append_line` for a log), so
where artefacts live is decided in one place: ``<root>/<env>/_artifacts`` locally; a Unity
Catalog volume path on Databricks (a ``/Volumes/...`` path is a plain file path there: Python's
file API reads and writes it on a cluster, but a volume takes no appends, so :func:`append_line`
rewrites the file there). A ``file://`` link is only given for this machine's files
(:meth:`ArtifactStore.url`): a volume file has no URL a browser could open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Path prefixes that are cluster mounts of cloud storage (Unity Catalog volumes, DBFS), not a disk.
CLUSTER_PREFIXES = ("/Volumes/", "/dbfs/", "/Workspace/")


def is_machine_local(path: str) -> bool:
    """Whether ``path`` is on this machine's disk (not a URI, not a volume or DBFS mount)."""
    return "://" not in path and not path.startswith(CLUSTER_PREFIXES)


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` (UTF-8), creating its folder; return the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def append_line(path: str, line: str) -> str:
    """Append one line (a newline is added) to ``path``, creating its folder; return the path.

    On a volume (no appends there) the file is read and written back whole with the new line.
    """
    text = line.rstrip("\n") + "\n"
    if not is_machine_local(path):
        previous = Path(path).read_text(encoding="utf-8") if os.path.exists(path) else ""
        return write_text(path, previous + text)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
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

    def exists(self, relative: str) -> bool:
        """Whether the artefact exists."""
        return os.path.exists(self.path(relative))

    def write_parquet(self, relative: str, frame: pd.DataFrame) -> str:
        """Write a pandas frame as Parquet (to a temporary name, then renamed); return its path."""
        path = self.path(relative)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        partial = f"{path}.{os.getpid()}.partial"
        frame.to_parquet(partial, index=False)
        os.replace(partial, path)
        return path

    def read_parquet(self, relative: str) -> pd.DataFrame:
        """Read a Parquet artefact as pandas."""
        import pandas as pd

        return pd.read_parquet(self.path(relative))

    @staticmethod
    def url(path: str) -> str | None:
        """A ``file://`` URL of an artefact on this machine's disk; ``None`` on a volume or in the cloud."""
        return Path(path).resolve().as_uri() if is_machine_local(path) else None
