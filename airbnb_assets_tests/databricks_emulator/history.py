"""An emulated TEST history: commands run in order against emulated workspaces, and what they must show.

:func:`run_days` runs ``airbnb bootstrap`` and ``airbnb run`` legs (each on its workspace, with its
compute) on one lakehouse and registry; :func:`check_days` asserts what one or two days leave.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from airbnb_assets_tests.databricks_emulator.cluster import tail
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    airbnb,
    emulated_test_env,
    land_sample,
    run_ids,
    upload_wheel,
)


@dataclass
class Outcome:
    """One CLI command against the emulator: its output, and the clusters and runs it caused."""

    command: str
    #: The workspace it ran against (an emulated history may move from one to another).
    ws: Workspace
    returncode: int
    output: str
    clusters: list[str]
    runs: list[int]
    #: The Dagster runs it launched (``daily_job`` and the retrain it requested, or the bootstrap).
    dagster_runs: list[str]
    #: Its wall time (seconds), for a reader of a slow or failed run.
    seconds: float
    #: The tail of each of its clusters' driver logs, kept when the command failed.
    drivers: str = ""
    #: The declared cluster its runs used (``None``: a cluster per Dagster run), and its state
    #: when the command ended.
    declared: str | None = None
    declared_state: str | None = None


@dataclass(frozen=True)
class Leg:
    """One command of an emulated history: its workspace, its compute, and the snapshot it lands.

    ``snapshot`` ``None`` is ``airbnb bootstrap``; a file is landed as a sample, then its day run.
    ``cluster_id`` declares the team's cluster (``AIRBNB_TEST_CLUSTER_ID``) every run uses instead
    of a cluster per run.
    """

    ws: Workspace
    compute: str
    snapshot: Path | None = None
    cluster_id: str | None = None

    @property
    def label(self) -> str:
        """The day it runs (``2015-05-04``), or ``bootstrap (<compute>)``."""
        return self.snapshot.name[9:19] if self.snapshot else f"bootstrap ({self.compute})"


@dataclass
class EmulatedDays:
    """An emulated TEST history: each :class:`Leg`'s command, in order, on one lakehouse and registry.

    ``env`` is the environment every leg shares (folders, catalog, MLflow, secrets); a leg changes
    only the workspace it calls (``DATABRICKS_HOST``) and the compute (``AIRBNB_TEST_COMPUTE``, and
    ``AIRBNB_TEST_CLUSTER_ID`` for a declared cluster).
    """

    env: dict[str, str]
    landed: dict[str, Path]
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def table_path(self, schema: str, name: str) -> str:
        """Where the cluster wrote a table (external tables of the local catalog profile)."""
        return f"{self.env['AIRBNB_TEST_LAKEHOUSE_ROOT']}/test/{schema}/{name}"

    @property
    def workspaces(self) -> list[Workspace]:
        """The workspaces the history ran against, in order of first use."""
        found: list[Workspace] = []
        for outcome in self.outcomes.values():
            if not any(outcome.ws is w for w in found):
                found.append(outcome.ws)
        return found


def leg_env(env: dict[str, str], leg: Leg) -> dict[str, str]:
    """``env`` pointed at the leg's workspace and compute."""
    host = {"DATABRICKS_HOST": leg.ws.host, "DATABRICKS_TOKEN": leg.ws.token}
    declared = {"AIRBNB_TEST_CLUSTER_ID": leg.cluster_id} if leg.cluster_id else {}
    compute = {"AIRBNB_TEST_COMPUTE": leg.compute, **declared}
    return {**env, **host, **compute, "AIRBNB_TEST_WHEEL": upload_wheel(leg.ws)}


def run_days(base: Path, legs: list[Leg]) -> EmulatedDays:
    """Run each leg's command in order, recording what each caused; stop at the first that fails.

    A declared cluster is terminated once the next leg no longer uses it, as its team would: the
    lakehouse's Derby metastore admits one driver JVM at a time.
    """
    days = EmulatedDays(emulated_test_env(legs[0].ws, base), {})
    for i, leg in enumerate(legs):
        env = leg_env(days.env, leg)
        if leg.snapshot is None:
            args: tuple[str, ...] = ("bootstrap",)
        else:
            days.landed[leg.label] = land_sample(leg.snapshot, Path(env["AIRBNB_TEST_LANDING_PATH"]))
            args = ("run", "--date", leg.label)
        clusters, runs, dagster_runs = set(leg.ws.clusters), set(leg.ws.runs), run_ids(env)
        start = time.monotonic()
        done = airbnb(env, *args)
        seconds = time.monotonic() - start
        started = sorted(set(leg.ws.clusters) - clusters)
        used = [*started, leg.cluster_id] if leg.cluster_id else started
        days.outcomes[leg.label] = Outcome(
            " ".join(args),
            leg.ws,
            done.returncode,
            done.stdout + done.stderr,
            started,
            sorted(set(leg.ws.runs) - runs),
            sorted(run_ids(env) - dagster_runs),
            seconds,
            driver_logs(leg.ws, used, keep=base / "failed" / leg.label) if done.returncode != 0 else "",
            leg.cluster_id,
            leg.ws.clusters[leg.cluster_id].state if leg.cluster_id else None,
        )
        following = legs[i + 1].cluster_id if i + 1 < len(legs) else None
        if leg.cluster_id and following != leg.cluster_id:
            # The team is done with its cluster, and the lakehouse's Derby metastore admits one JVM.
            leg.ws.clusters[leg.cluster_id].terminate("Terminated by the user")
        if done.returncode != 0:
            break
    return days


def driver_logs(ws: Workspace, clusters: list[str], lines: int = 30, keep: Path | None = None) -> str:
    """The last lines each cluster's driver logged (why a SparkContext stopped under a task, say).

    With ``keep``, each whole driver log and the output of every run on those clusters are copied
    there first: the workspace deletes its clusters' folders when it closes, and the first error is
    often far above the last lines.
    """
    parts = []
    for cluster_id in clusters:
        cluster = ws.clusters[cluster_id]
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(cluster.log, keep / f"driver-{cluster_id}.log")
            for run in ws.runs.values():
                if run.cluster_id == cluster_id:
                    with contextlib.suppress(OSError):
                        shutil.copy(run.output, keep / f"run-{run.run_id}.log")
        kept = f", whole logs in {keep}" if keep is not None else ""
        parts.append(
            f"\n--- driver log of {cluster_id} (last {lines} lines{kept}) ---\n{tail(cluster.log, lines)}"
        )
    return "".join(parts)


def check_days(days: EmulatedDays, gold_rows: dict[str, int], bronze_rows: dict[str, int]) -> None:
    """What one or two emulated days must show: every command succeeded, one cluster per Dagster
    run and none left running (or every run on the declared cluster, still running), DEV's row
    counts, no table compacted, the first day unscored, a version registered by each day's
    retrain on the cluster (the first one champion; the second's alias as its gate decided), and a
    second day scored, judged and charted there by the version the first day registered."""
    from deltalake import DeltaTable

    for label, outcome in days.outcomes.items():
        assert outcome.returncode == 0, (
            f"{outcome.command} ({outcome.seconds:.0f} s):\n{outcome.output[-4000:]}{outcome.drivers}"
        )
        ws = outcome.ws
        on = {ws.runs[r].cluster_id for r in outcome.runs}
        if outcome.declared:  # the team's cluster: no run created or terminated one
            assert outcome.clusters == [] and on == {outcome.declared}, (label, outcome.clusters, on)
            assert outcome.declared_state == "RUNNING", label
            continue
        owners = [ws.clusters[c].spec["custom_tags"]["dagster_run_id"] for c in outcome.clusters]
        assert sorted(owners) == outcome.dagster_runs, label  # one cluster per Dagster run, no more
        if label in days.landed:  # a labelled day: daily_job, then the retrain the sensor requested
            assert len(owners) == 2, (label, owners)
        assert set(outcome.clusters) <= set(ws.terminated), (label, outcome.clusters)
        assert on == set(outcome.clusters), (label, on, outcome.clusters)
    declared = {o.declared for o in days.outcomes.values()}
    run_clusters = [c for ws in days.workspaces for c in ws.clusters.values() if c.cluster_id not in declared]
    assert all(c.state == "TERMINATED" for c in run_clusters)
    first, *later = sorted(days.landed)
    assert sorted(gold_rows) == [first, *later] and len(later) <= 1  # one or two days

    def rows(schema: str, name: str, **where: str) -> list[dict[str, object]]:
        table = DeltaTable(days.table_path(schema, name)).to_pyarrow_table().to_pylist()
        return [r for r in table if all(str(r[k]) == v for k, v in where.items())]

    assert len(rows("bronze", "listings")) == sum(bronze_rows.values())
    # Each run is a fresh cluster JVM, and none of its writes compacted a table of a few files.
    for schema, name in (("bronze", "listings"), ("silver", "listings"), ("gold", "listing_features")):
        history = DeltaTable(days.table_path(schema, name)).history()
        assert "OPTIMIZE" not in [c["operation"] for c in history], (schema, name)
    assert len(rows("silver", "listings")) == sum(gold_rows.values())
    for day, expected in gold_rows.items():
        assert len(rows("gold", "listing_features", snapshot_date=day)) == expected
    assert rows("gold", "price_predictions", snapshot_date=first) == []  # no champion on day one
    registry = sqlite3.connect(days.env["AIRBNB_TEST_MLFLOW_TRACKING_URI"].removeprefix("sqlite:///"))
    with contextlib.closing(registry):
        versions = registry.execute("SELECT version FROM model_versions ORDER BY version").fetchall()
        aliases = registry.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
        decisions = registry.execute(
            "SELECT version, value FROM model_version_tags WHERE key = 'promotion' ORDER BY version"
        ).fetchall()
    assert [v for (v,) in versions] == list(range(1, len(gold_rows) + 1))  # one per day's retrain
    if not later:  # the first day's retrain, judged on a holdout, is the champion
        assert aliases == [("champion", 1)]
    else:  # the second day is served by the version the first day registered
        (second,) = later
        # v2's alias is its gate's decision: champion if promoted, else challenger beside v1.
        expected = {"promoted": [("champion", 2)], "refused": [("challenger", 2), ("champion", 1)]}
        assert decisions[0] == (1, "promoted") and len(decisions) == 2
        assert sorted(aliases) == expected[decisions[1][1]]
        scored = rows("gold", "price_predictions", snapshot_date=second)
        assert len(scored) > 0.9 * gold_rows[second]
        assert {str(r["model_version"]) for r in scored} == {"1"}
        assert rows("monitoring", "drift_metrics", run_date=second)
    dashboard = (
        Path(days.env["AIRBNB_TEST_LAKEHOUSE_ROOT"]) / "test" / "_artifacts" / "dashboard" / "index.html"
    )
    assert max(gold_rows) in dashboard.read_text(encoding="utf-8")
