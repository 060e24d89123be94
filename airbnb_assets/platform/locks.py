"""One writer at a time: an exclusive lock on a local lakehouse, held for the length of a run.

Runs launched by the Dagster daemon are serialised by the instance's run queue (tag
``airbnb/writer``, ``dagster.yaml``); this lock also covers runs started from the command line
(``airbnb run``) or by a test, which do not go through the queue. It is an OS file lock
(``flock``), so a killed process releases it immediately and a stale lock cannot block the next
run.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import IO


class LakehouseBusy(RuntimeError):
    """Another process holds the writer lock of this lakehouse."""


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``<root>/_locks/writer.lock``."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, "_locks", "writer.lock")
        self._handle: IO[str] | None = None

    def holder(self) -> dict[str, str]:
        """Who wrote the lock file last (pid, run id): for the error message."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                return dict(json.load(fh))
        except (OSError, ValueError):
            return {}

    def acquire(self, owner: dict[str, str]) -> None:
        """Take the lock or raise :class:`LakehouseBusy` naming the holder."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            held = self.holder()
            raise LakehouseBusy(
                f"another run is writing to {os.path.dirname(os.path.dirname(self.path))} "
                f"(pid {held.get('pid', '?')}, run {held.get('run_id', '?')}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        json.dump({"pid": str(os.getpid()), **owner}, handle)
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
