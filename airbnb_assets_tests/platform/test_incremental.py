"""Triggered streams: the stream id each batch gets is the checkpoint's, across restarts."""

import datetime as dt
import json
from pathlib import Path

from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import LANDING_FILES


def _ledger_rows(lakehouse: LakehouseResource, names: list[str]):  # type: ignore[no-untyped-def]
    now = dt.datetime(2020, 1, 1)
    rows = [{"file_path": n, "file_name": n, "status": "ignored", "recorded_at": now} for n in names]
    return lakehouse.create_frame(rows, LANDING_FILES)


def test_batches_carry_the_checkpoint_stream_id_across_restarts(lakehouse: LakehouseResource) -> None:
    seen: list[tuple[str, int, list[str]]] = []

    def handle(batch, ctx: BatchContext) -> None:  # type: ignore[no-untyped-def]
        seen.append((ctx.stream_id, ctx.batch_id, sorted(r[0] for r in batch.select("file_name").collect())))

    checkpoint = lakehouse.checkpoint("ids")
    lakehouse.append(_ledger_rows(lakehouse, ["a", "b"]), LANDING_FILES)
    assert run_available_now(lakehouse.read_stream(LANDING_FILES), checkpoint, handle, "ids") == 1
    assert run_available_now(lakehouse.read_stream(LANDING_FILES), checkpoint, handle, "ids") == 0
    lakehouse.append(_ledger_rows(lakehouse, ["c"]), LANDING_FILES)
    assert run_available_now(lakehouse.read_stream(LANDING_FILES), checkpoint, handle, "ids") == 1

    stream_id = json.loads(Path(checkpoint, "metadata").read_text(encoding="utf-8"))["id"]
    assert seen == [(stream_id, 0, ["a", "b"]), (stream_id, 1, ["c"])]
    assert BatchContext(stream_id, 1).txn("x", 2) == (f"{stream_id}:x", 10_002)
