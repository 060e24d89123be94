"""Auto Loader on Databricks, and its semantics on open-source Spark: new landed files, exactly once.

On Databricks bronze reads the landing volume with the real ``cloudFiles`` source
(:func:`~airbnb_assets.ingest.reader.landing_reader`) and :func:`ingest_parsed_batch` appends each
micro-batch and records its files. Everywhere else the emulation below runs: the landing folder
is read as a ``binaryFile`` stream (paths only) with ``availableNow``; its
checkpoint remembers every path already seen, so a rerun with no new files writes nothing. Each
new file is probed, parsed with its own header and appended to bronze in its own idempotent Delta
commit (``mergeSchema`` adds new columns). Every file gets a row in ``ops/landing_files``:
``ingested``, ``duplicate`` (same bytes as a file already ingested), ``failed`` with a reason, or
``ignored`` (a name that is not a snapshot name), with the header's new and missing columns
(:mod:`~airbnb_assets.ingest.columns`). A bad file never stops the others and never undoes what is
committed, and the ledger says what was committed: a file whose bronze append raised but whose
rows are in bronze (the commit went through) is ``ingested``, never ``failed``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from airbnb_assets.ingest.bronze import PROVENANCE, read_landed_file
from airbnb_assets.ingest.columns import missing_columns, new_columns
from airbnb_assets.ingest.files import (
    FILE_GLOB,
    KEY_COLUMN,
    NO_KEY_REASON,
    FileProbe,
    probe_file,
    probe_listed,
    snapshot_date_of,
)
from airbnb_assets.ingest.reader import RESCUED, landed_files, landing_reader
from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
#: How often one run restarts Auto Loader after it stopped to add new columns to its schema.
SCHEMA_RESTARTS = 3


@dataclass
class IngestReport:
    """What one ingestion run did: one ledger record per file it saw."""

    files: list[dict[str, Any]] = field(default_factory=list)

    def by_status(self, status: str) -> list[dict[str, Any]]:
        """The ledger records with the given status."""
        return [f for f in self.files if f["status"] == status]

    @property
    def rows(self) -> int:
        """Bronze rows written by this run."""
        return sum(f["rows"] or 0 for f in self.by_status("ingested"))


def _ingested_hashes(lakehouse: LakehouseResource) -> dict[str, str]:
    """SHA-256 → file name of every ingested file, from the ledger (pandas: no Spark job locally)."""
    if not lakehouse.exists(LANDING_FILES):
        return {}
    ledger = lakehouse.to_pandas(LANDING_FILES, ["sha256", "file_name", "status"])
    ingested = ledger[ledger["status"] == "ingested"]
    return dict(zip(ingested["sha256"], ingested["file_name"], strict=True))


def _bronze_rows(lakehouse: LakehouseResource, path: str) -> int:
    """Rows of ``path`` committed in bronze (0 when bronze does not exist yet)."""
    if not lakehouse.exists(BRONZE):
        return 0
    return lakehouse.read(BRONZE).filter(F.col("_source_file") == path).count()


def _appended_rows(lakehouse: LakehouseResource, path: str, before: int | None) -> int:
    """Rows bronze's append of ``path`` wrote: its commit's ``numOutputRows``, counted only if unknown.

    When no new commit follows ``before`` (an idempotent retry Delta skipped), the file's rows are
    counted in bronze (data skipping on ``_source_file`` reads only that file's parquet files).
    """
    version, metrics = lakehouse.last_commit(BRONZE)
    if version == (-1 if before is None else before) + 1 and "numOutputRows" in metrics:
        return int(metrics["numOutputRows"])
    return _bronze_rows(lakehouse, path)


def _record(probe: FileProbe, run_date: str | None, batch_id: int | None) -> dict[str, Any]:
    """A ledger record for a probed file (``ignored`` for a foreign name, else ``failed`` until ingested)."""
    return {
        "file_path": probe.path,
        "file_name": probe.name,
        "snapshot_date": probe.snapshot_date,
        "status": "ignored" if probe.snapshot_date is None else "failed",
        "reason": probe.error,
        "rows": None,
        "columns": probe.columns or None,
        "new_columns": new_columns(probe.columns) if probe.columns else None,
        "missing_columns": missing_columns(probe.columns) if probe.columns else None,
        "encoding": probe.encoding if not probe.error else None,
        "size_bytes": probe.size_bytes,
        "sha256": probe.sha256 or None,
        "run_date": run_date,
        "batch_id": batch_id,
        "recorded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }


def ingest_files(
    lakehouse: LakehouseResource,
    paths: list[str],
    ctx: BatchContext,
    run_date: str | None = None,
) -> list[dict[str, Any]]:
    """Ingest the given landed files into bronze (in snapshot-date order) and record each one."""
    known = _ingested_hashes(lakehouse)
    records = []
    order = sorted(paths, key=lambda p: (snapshot_date_of(p.rsplit("/", 1)[-1]) or dt.date.min, p))
    for i, path in enumerate(order):
        probe = probe_file(path)
        record = _record(probe, run_date, ctx.batch_id)
        if probe.error is None and probe.sha256 in known:
            record.update(status="duplicate", reason=f"same bytes as {known[probe.sha256]}")
        elif probe.error is None:
            log.info("%s: %s (%s)", probe.name, probe.encoding, probe.encoding_evidence)
            try:
                before = lakehouse.version(BRONZE)
                lakehouse.append(read_landed_file(lakehouse.session, probe), BRONZE, txn=ctx.txn("bronze", i))
                record.update(status="ingested", rows=_appended_rows(lakehouse, path, before))
                known[probe.sha256] = probe.name
            except Exception as exc:  # a file Spark cannot parse is recorded, not fatal
                committed = _bronze_rows(lakehouse, path)  # ... unless its commit went through
                if committed:
                    log.warning("bronze append of %s raised, but its rows are committed: %s", probe.name, exc)
                    record.update(status="ingested", rows=committed)
                    known[probe.sha256] = probe.name
                else:
                    log.warning("could not ingest %s: %s", probe.name, exc)
                    record["reason"] = f"unreadable: {str(exc).splitlines()[0][:300]}"
        if record["status"] != "ingested":
            log.warning("%s %s: %s", probe.name, record["status"], record["reason"])
        records.append(record)
    if records:
        lakehouse.append_rows(records, LANDING_FILES, txn=ctx.txn("ledger"))
    return records


def ingest_parsed_batch(
    lakehouse: LakehouseResource, batch: DataFrame, ctx: BatchContext, run_date: str | None = None
) -> list[dict[str, Any]]:
    """Databricks: append one Auto Loader micro-batch to bronze (one idempotent commit); record its files.

    Auto Loader merges every file's header into one schema, so a file's ``columns`` are the ones
    holding a value in at least one of its rows. A file whose name carries no date is ``ignored``;
    one without a listing id in any row is ``failed`` and none of its rows or columns reach bronze.
    """
    data = [c for c in batch.columns if c not in PROVENANCE and c != RESCUED]
    per_file = (
        batch.groupBy("_source_file", "_snapshot_date")
        .agg(F.count(F.lit(1)).alias("_rows"), *[F.max(F.col(f"`{c}`").isNotNull()).alias(c) for c in data])
        .collect()
    )
    if not per_file:
        return []
    # A file with no listing id (a semicolon export parses into one mangled column) is refused
    # whole, and a column only such files hold never reaches bronze's schema.
    kept = {
        r["_source_file"] for r in per_file if r["_snapshot_date"] is not None and r.asDict().get(KEY_COLUMN)
    }
    kept_columns = [
        c for c in batch.columns if c not in data or any(r[c] for r in per_file if r["_source_file"] in kept)
    ]
    if kept:
        rows = batch.filter(F.col("_source_file").isin(sorted(kept))).select(
            *[F.col(f"`{c}`") for c in kept_columns]
        )
        lakehouse.append(rows, BRONZE, txn=ctx.txn("bronze"))
    records = []
    for r in sorted(per_file, key=lambda r: (r["_snapshot_date"] or dt.date.min, r["_source_file"])):
        record = _record(probe_listed(r["_source_file"], 0), run_date, ctx.batch_id)
        record["size_bytes"] = None  # Auto Loader does not say; the file was not opened here
        if r["_snapshot_date"] is not None and r["_source_file"] not in kept:
            record.update(
                columns=[c for c in data if r[c]],
                reason=NO_KEY_REASON,
            )
        elif r["_snapshot_date"] is not None:
            columns = [c for c in data if r[c]]
            record.update(status="ingested", reason=None, rows=r["_rows"], encoding="UTF-8", sha256=None)
            record.update(
                columns=columns, new_columns=new_columns(columns), missing_columns=missing_columns(columns)
            )
        records.append(record)
    lakehouse.append_rows(records, LANDING_FILES, txn=ctx.txn("ledger"))
    return records


def _schema_changed(exc: BaseException) -> bool:
    """Auto Loader stopped because a file brought new columns (``addNewColumns``): restart to read on."""
    return "UnknownFieldException" in str(exc) or "UNKNOWN_FIELD_EXCEPTION" in str(exc)


def run_ingestion(lakehouse: LakehouseResource, run_date: str | None = None) -> IngestReport:
    """Ingest every file landed since the last run; return what happened to each."""
    report = IngestReport()
    checkpoint = lakehouse.checkpoint("bronze_listings")
    on_databricks = lakehouse.platform == "databricks"

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        if on_databricks:
            report.files.extend(ingest_parsed_batch(lakehouse, batch, ctx, run_date))
        else:
            paths = [r["path"] for r in batch.collect()]
            report.files.extend(ingest_files(lakehouse, paths, ctx, run_date))

    for attempt in range(SCHEMA_RESTARTS + 1):
        stream = landing_reader(lakehouse.platform, lakehouse.session, lakehouse.landing_path, checkpoint)
        try:
            run_available_now(stream, checkpoint, handle, name="bronze_listings_autoloader")
            break
        except Exception as exc:
            if not (on_databricks and _schema_changed(exc)) or attempt == SCHEMA_RESTARTS:
                raise
            log.warning("Auto Loader added new columns to its schema; restarting the stream")
    report.files.extend(record_unstreamed_files(lakehouse, run_date))
    return report


def _unstreamed(path: str, size: int) -> bool:
    """A listed file the stream does not deliver: a foreign name, or a zero-byte file."""
    return not fnmatch.fnmatch(path.rsplit("/", 1)[-1], FILE_GLOB) or size == 0


def record_unstreamed_files(
    lakehouse: LakehouseResource, run_date: str | None = None
) -> list[dict[str, Any]]:
    """Record, once, the landed files the file stream does not deliver.

    A name that is not a snapshot name (``foo.csv``) is ``ignored`` with the reason; a zero-byte
    snapshot file is ``failed`` (Spark's file sources skip empty files silently). Hidden files
    (``.name``, ``_name``, such as a file being landed) are left alone. The landing zone is listed
    by Spark (:func:`~airbnb_assets.ingest.reader.landed_files`) and no file is opened, so this
    works on a volume or in cloud storage as well as on a local folder.
    """
    listed = landed_files(lakehouse.session, lakehouse.landing_path)
    probes = [probe_listed(p, size) for p, size in listed.items() if _unstreamed(p, size)]
    if probes and lakehouse.exists(LANDING_FILES):
        seen = set(lakehouse.to_pandas(LANDING_FILES, ["file_name"])["file_name"])
        probes = [p for p in probes if p.name not in seen]
    records = [_record(p, run_date, None) for p in probes]
    for r in records:
        log.warning("%s %s: %s", r["file_name"], r["status"], r["reason"])
    if records:
        lakehouse.append_rows(records, LANDING_FILES)
    return records
