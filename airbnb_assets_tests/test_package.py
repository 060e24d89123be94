"""What importing the package does to its process: at exit, its objects are frozen, not collected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def frozen_at_exit(tmp_path: Path, imports: str) -> int:
    """``gc.get_freeze_count()`` seen by the last exit handler of a process that runs ``imports``.

    The handler is registered first, so it runs last: after any the imports register.
    """
    out = tmp_path / "frozen.txt"
    code = (
        "import atexit, gc\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(str(gc.get_freeze_count())))\n"
        f"{imports}\n"
        "assert gc.get_freeze_count() == 0\n"  # nothing is frozen before the process ends
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True)
    return int(out.read_text())


def test_a_process_that_imported_the_package_freezes_its_objects_at_exit(tmp_path: Path) -> None:
    assert frozen_at_exit(tmp_path, "import airbnb_assets.definitions") > 100_000  # the stack's objects
    assert frozen_at_exit(tmp_path, "import json") == 0  # Python alone freezes nothing
