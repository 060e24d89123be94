"""Serve the emulator by hand: ``python -m airbnb_assets_tests.databricks_emulator [FOLDER]``.

Prints the variables of a TEST environment against it (lakehouse, landing and Dagster home under
``FOLDER``), then serves until Ctrl-C. Export them in another shell and use ``airbnb`` as on TEST.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from pathlib import Path

from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import SCOPES, emulated_test_env

SHOWN = ("AIRBNB_ENV", "DAGSTER_HOME", "DATABRICKS_HOST", "DATABRICKS_TOKEN")


def main(argv: list[str]) -> None:
    """Start the workspace, print the exports, serve until interrupted."""
    base = Path(argv[0] if argv else tempfile.mkdtemp(prefix="databricks-emulator-")).resolve()
    with Workspace(secrets=SCOPES) as ws:
        env = emulated_test_env(ws, base)
        for key, value in env.items():
            if key in SHOWN or key.startswith("AIRBNB_TEST_"):
                print(f"export {key}={shlex.quote(value)}")
        print(f"# emulator serving on {ws.host}; Ctrl-C to stop", file=sys.stderr)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
