"""airbnb_assets: San Francisco Airbnb price lakehouse and ML pipeline as a Dagster code location.

Data: Inside Airbnb, insideairbnb.com.
"""

import atexit as _atexit
import gc as _gc
import os as _os
from importlib import metadata as _metadata

# MLflow 3 sends usage telemetry to its host from every process that imports it; a client site
# may forbid the call (and this machine has no route to it). Off unless the user opts in
# (MLFLOW_DISABLE_TELEMETRY=false). Set before anything of ours imports MLflow.
_os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# A process that has loaded the stack (Dagster, Spark, MLflow, Evidently: about 4,700 modules)
# spent 2.1-2.5 s at exit in CPython's final garbage collections over objects it is about to drop
# anyway. Frozen at exit (after the later-registered handlers: Spark's, logging's flushes), they
# are skipped; every object still goes through module teardown, and Python never promised to
# finalize objects alive at exit. Each `airbnb` command, Dagster run process and test worker gains.
_atexit.register(_gc.freeze)

try:
    #: The installed version: the git tag it was built from (``v1.2.0`` -> ``1.2.0``), see CHANGELOG.md.
    __version__ = _metadata.version("airbnb_assets")
except _metadata.PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0.0.0+unknown"
