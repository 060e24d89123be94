"""Prepared starting states, cached under the git-ignored ``.bench/`` folder.

A state is a lakehouse plus the Dagster instance that built it (and, for the real state, the
champion exported as a pickle for the bare script). A state's files are landed in batches and
each batch is ingested by one daily run (not one run per file). It is built once in the *live* folder
``.bench/live`` -- where every measured run also happens, because MLflow's registry and Spark's
checkpoints hold absolute paths -- then copied to ``.bench/cache/<name>-<key>``. ``key`` hashes the
package's source, ``synth.py`` and the parameters, so a changed pipeline or scale
builds anew and an unchanged one is reused. :func:`restore` copies a cached state back to the live
folder before each measured run (every iteration starts from the same state).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import REPO, Measured, measured

#: The default benchmark folder (git-ignored): caches, synthetic files, the live folder.
BENCH = REPO / ".bench"
#: The real snapshots of the prepared state (the sixth, 2019-10-14, is the day scenario 1 measures).
REAL_UNTIL = "2019-06-02"
REAL_DAY = "2019-10-14"
#: Synthetic history days ingested per daily run while a history state is built (1M rows per run
#: at 100k rows a day: a 50-file backlog of 5M rows in one run exhausted the 4 GB local heap).
HISTORY_DAYS_PER_RUN = 10
_EXPORT = """
import cloudpickle, sys
from airbnb_assets.environments import build_resources, current_settings
from airbnb_assets.ml.serving import champion_version, load_model
mlflow = build_resources(current_settings())["mlflow"]
champion = champion_version(mlflow.activate(), mlflow.model_name)
assert champion is not None, "no champion after the prepared days"
with open(sys.argv[1], "wb") as fh:
    cloudpickle.dump(load_model(mlflow.model_name, str(champion.version)), fh)
print(champion.version)
"""


@dataclass(frozen=True)
class Live:
    """The live folder's paths: lakehouse root, Dagster home and the exported champion."""

    root: Path

    @property
    def lakehouse(self) -> Path:
        """``AIRBNB_LAKEHOUSE_ROOT`` of the runs."""
        return self.root / "lakehouse"

    @property
    def env_root(self) -> Path:
        """The DEV environment's root (tables at ``<env_root>/<schema>/<table>``)."""
        return self.lakehouse / "dev"

    @property
    def home(self) -> Path:
        """``DAGSTER_HOME`` of the runs."""
        return self.root / "dagster_home"

    @property
    def model(self) -> Path:
        """The champion's scikit-learn pipeline, exported for the bare script."""
        return self.root / "champion.pkl"

    @property
    def environ(self) -> dict[str, str]:
        """The variables that point ``airbnb`` runs at this lakehouse and instance."""
        return {"AIRBNB_LAKEHOUSE_ROOT": str(self.lakehouse), "DAGSTER_HOME": str(self.home)}


def source_key(params: dict[str, Any]) -> str:
    """A short hash of the package's source, ``synth.py`` and ``params`` (the cache key of a state)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    files = sorted((REPO / "airbnb_assets").rglob("*.py"))
    for path in [*files, REPO / "benchmarks" / "synth.py"]:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def forget_mlflow_engines() -> None:
    """Close the SQLite engines and stores MLflow keeps per database URI in this process.

    In-process runs (the smoke test) replace the live folder, MLflow's database included, between
    runs; an engine still open on the deleted file would find it read-only.
    """
    import sys

    if "mlflow" not in sys.modules:
        return
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore
    from mlflow.tracking._model_registry.registry import ModelRegistryStoreRegistry
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    # The stores themselves are cached per URI: drop them too, so the next run builds new ones.
    TrackingStoreRegistry._get_store_with_resolved_uri.cache_clear()
    ModelRegistryStoreRegistry._get_store_with_resolved_uri.cache_clear()
    for store in (TrackingStore, RegistryStore):
        with store._engine_map_lock:
            for engine in store._engine_map.values():
                engine.dispose()
            store._engine_map.clear()


@dataclass
class Bench:
    """Where states are cached and runs happen, and how runs are started.

    ``in_process`` runs everything in this process (the smoke test's shared Spark session);
    otherwise every run is its own process. ``real_until`` is the last real snapshot ingested into
    the real state (the smoke test uses fewer days); ``snapshots`` the folder of the real files
    (``None``: the packaged ones; the smoke test's hold their first records).
    """

    root: Path = BENCH
    in_process: bool = False
    real_until: str = REAL_UNTIL
    echo: Callable[[str], None] = print
    snapshots: Path | None = None

    @property
    def snapshot_folder(self) -> Path:
        """Where the real snapshot files are: ``snapshots``, or the packaged ones."""
        from airbnb_assets.environments import SNAPSHOTS_DIR

        return self.snapshots or SNAPSHOTS_DIR

    def snapshot_files(self) -> list[Path]:
        """The real snapshot files, oldest first."""
        return sorted(self.snapshot_folder.glob("listings_*.csv.gz"))

    def snapshot(self, day: str) -> Path:
        """The real snapshot file of ``day`` (``YYYY-MM-DD``); an error naming the folder if none."""
        path = self.snapshot_folder / f"listings_{day}.csv.gz"
        if not path.exists():
            raise FileNotFoundError(f"no real snapshot of {day} in {self.snapshot_folder}")
        return path

    @property
    def live(self) -> Live:
        """The live folder (every run happens here)."""
        return Live(self.root / "live")

    def run(self, args: list[str], live: Live) -> Measured:
        """Run ``python args`` on ``live`` (its lakehouse and Dagster home), measured."""
        return measured(args, live.environ, in_process=self.in_process)

    def run_day(self, date: str, files: list[Path], live: Live, retrain: bool = True) -> Measured:
        """Land ``files`` and run the daily job for ``date`` on ``live``, measured.

        :mod:`benchmarks.product_day` in a process (or in this one), then the retrain the sensor
        requests unless ``retrain`` is false.
        """
        args = ["-m", "benchmarks.product_day", "--date", date, "--land", *map(str, files)]
        return self.run(args if retrain else [*args, "--no-retrain"], live)

    def reset_live(self) -> Live:
        """An empty live folder with a Dagster home (the repository's ``dagster.yaml``)."""
        live = self.live
        shutil.rmtree(live.root, ignore_errors=True)
        if self.in_process:
            forget_mlflow_engines()
        live.home.mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", live.home / "dagster.yaml")
        return live

    def restore(self, cached: Path) -> Live:
        """Replace the live folder with a copy of the cached state ``cached``."""
        shutil.rmtree(self.live.root, ignore_errors=True)
        if self.in_process:
            forget_mlflow_engines()
        shutil.copytree(cached, self.live.root, symlinks=True)
        return self.live

    def _cache(self, name: str, params: dict[str, Any]) -> Path:
        return self.root / "cache" / f"{name}-{source_key(params)}"

    def _keep(self, cached: Path) -> Path:
        """Copy the live folder to ``cached`` (atomically: a half-written cache is never used)."""
        partial = cached.with_name(cached.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(self.live.root, partial, symlinks=True)
        partial.rename(cached)
        return cached

    def real_state(self) -> Path:
        """The real snapshots up to ``real_until`` ingested in two daily runs, champion exported.

        The first run ingests every snapshot but the last at once and trains the first champion;
        the second ingests the last one, which is scored, judged and retrained on as any day. (One
        run alone would judge the first model on 2019-06-02, whose file lacks six required
        features: nothing would be promoted.) Two runs, not one per snapshot.
        """
        params: dict[str, Any] = {"until": self.real_until, "build": "two-runs"}
        if self.snapshots is not None:
            params["snapshots"] = str(self.snapshots)
        cached = self._cache("real", params)
        if cached.exists():
            return cached
        self.echo(f"  preparing: the real snapshots up to {self.real_until}, two runs ({cached.name})")
        live = self.reset_live()
        files = [p for p in self.snapshot_files() if p.name[9:19] <= self.real_until]
        for batch in (files[:-1], files[-1:]) if len(files) > 1 else (files,):
            day = batch[-1].name[9:19]
            self.run_day(day, batch, live)
        self.run(["-c", _EXPORT, str(live.model)], live)
        return self._keep(cached)

    def history_state(self, days: int, rows: int, first: dt.date) -> Path:
        """The real state plus ``days`` synthetic days of ``rows`` rows from ``first`` (0: the real state).

        The days are landed and ingested :data:`HISTORY_DAYS_PER_RUN` at a time, one daily run each,
        without the retrains they would request: scenario 3 measures the daily job, so its states
        differ only by history, and the real state's champion serves on both.
        """
        from benchmarks.synth import write_days

        if days == 0:
            return self.real_state()
        params = {
            "until": self.real_until,
            "days": days,
            "rows": rows,
            "first": first.isoformat(),
            "retrain": False,
        }
        cached = self._cache("history", params)
        if cached.exists():
            return cached
        base = self.real_state()
        runs = -(-days // HISTORY_DAYS_PER_RUN)
        self.echo(
            f"  preparing: {days} synthetic day(s) x {rows:,} rows of history, {runs} run(s) ({cached.name})"
        )
        files = write_days(self.root / "synth" / f"history-{rows}", first, days, rows, first_seed=1000)
        live = self.restore(base)
        for start in range(0, days, HISTORY_DAYS_PER_RUN):
            batch = files[start : start + HISTORY_DAYS_PER_RUN]
            last = batch[-1].name[9:19]
            self.run_day(last, batch, live, retrain=False)
        return self._keep(cached)
