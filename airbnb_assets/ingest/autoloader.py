"""Auto Loader semantics on open-source Spark: discover new landed files exactly once.

The landing folder is read as a ``binaryFile`` stream (paths only) with ``availableNow``; its
checkpoint remembers every path already seen, so a rerun with no new files writes nothing. Each
new file is probed, parsed with its own header and appended to bronze in its own idempotent Delta
commit (``mergeSchema`` adds new columns). Every file gets a row in ``ops/landing_files``:
``ingested``, ``duplicate`` (same bytes as a file already ingested) or ``failed`` with a reason.
A bad file never stops the others and never undoes what is committed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from airbnb_assets.ingest.bronze import read_landed_file
from airbnb_assets.ingest.files import FILE_GLOB, FileProbe, local_path, probe_file, snapshot_date_of
from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
#: Schema of Spark's ``binaryFile`` source (a stream needs it up front; ``content`` is not read).
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"


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
    if not lakehouse.exists(LANDING_FILES):
        return {}
    rows = (
        lakehouse.read(LANDING_FILES)
        .filter(F.col("status") == "ingested")
        .select("sha256", "file_name")
        .collect()
    )
    return {r["sha256"]: r["file_name"] for r in rows}


def _bronze_rows(lakehouse: LakehouseResource, path: str) -> int:
    return lakehouse.read(BRONZE).filter(F.col("_source_file") == path).count()


def _record(probe: FileProbe, run_date: str | None, batch_id: int | None) -> dict[str, Any]:
    """A ledger record for a probed file (status ``failed`` until it is ingested)."""
    return {
        "file_path": probe.path,
        "file_name": probe.name,
        "snapshot_date": probe.snapshot_date,
        "status": "failed",
        "reason": probe.error,
        "rows": None,
        "columns": probe.columns or None,
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
            try:
                lakehouse.append(read_landed_file(lakehouse.session, probe), BRONZE, txn=ctx.txn("bronze", i))
                record.update(status="ingested", rows=_bronze_rows(lakehouse, path))
                known[probe.sha256] = probe.name
            except Exception as exc:  # a file Spark cannot parse is recorded, not fatal
                log.warning("could not ingest %s: %s", probe.name, exc)
                record["reason"] = f"unreadable: {str(exc).splitlines()[0][:300]}"
        if record["status"] != "ingested":
            log.warning("%s %s: %s", probe.name, record["status"], record["reason"])
        records.append(record)
    if records:
        ledger = lakehouse.create_frame(records, LANDING_FILES)
        lakehouse.append(ledger, LANDING_FILES, txn=ctx.txn("ledger"))
    return records


def landed_files_stream(spark: SparkSession, landing_path: str) -> DataFrame:
    """Stream of new file paths in the landing zone (``binaryFile`` source, content not read)."""
    return (
        spark.readStream.format("binaryFile")
        .schema(BINARY_FILE_SCHEMA)
        .option("pathGlobFilter", FILE_GLOB)
        .load(landing_path)
        .select("path")
    )


def run_ingestion(lakehouse: LakehouseResource, run_date: str | None = None) -> IngestReport:
    """Ingest every file landed since the last run; return what happened to each."""
    report = IngestReport()
    spark = lakehouse.session

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        paths = [r["path"] for r in batch.collect()]
        report.files.extend(ingest_files(lakehouse, paths, ctx, run_date))

    run_available_now(
        landed_files_stream(spark, lakehouse.landing_path),
        lakehouse.checkpoint("bronze_listings"),
        handle,
        name="bronze_listings_autoloader",
    )
    report.files.extend(record_empty_files(lakehouse, run_date))
    return report


def record_empty_files(lakehouse: LakehouseResource, run_date: str | None = None) -> list[dict[str, Any]]:
    """Record zero-byte landed files as failed: Spark's file sources skip them silently."""
    folder = local_path(lakehouse.landing_path)
    if not os.path.isdir(folder):
        return []
    empty = sorted(
        e.path
        for e in os.scandir(folder)
        if e.is_file() and e.stat().st_size == 0 and fnmatch.fnmatch(e.name, FILE_GLOB)
    )
    if empty and lakehouse.exists(LANDING_FILES):
        seen = {r[0] for r in lakehouse.read(LANDING_FILES).select("file_name").collect()}
        empty = [p for p in empty if os.path.basename(p) not in seen]
    records = [_record(probe_file(p), run_date, None) for p in empty]
    for r in records:
        log.warning("%s failed: %s", r["file_name"], r["reason"])
    if records:
        lakehouse.append(lakehouse.create_frame(records, LANDING_FILES), LANDING_FILES)
    return records
