"""Run an incremental step the way Databricks Auto Loader / DLT do: a triggered stream.

A step reads a streaming source (new files, or rows appended to a Delta table), processes each
micro-batch with a plain function, and stops when nothing is left (``trigger(availableNow=True)``).
The checkpoint remembers what was processed, so a rerun with nothing new does nothing. Writes in
the batch function use Delta's ``txnAppId``/``txnVersion`` with :func:`batch_txn` so a retried
batch is not written twice: at-least-once delivery, exactly-once tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class BatchContext:
    """Identity of one micro-batch: the stream's stable id (from its checkpoint) and batch id."""

    stream_id: str
    batch_id: int

    def txn(self, step: str, sub: int = 0) -> tuple[str, int]:
        """``(txnAppId, txnVersion)`` for the ``sub``-th write of ``step`` in this batch."""
        return (f"{self.stream_id}:{step}", self.batch_id * 10_000 + sub)


def _stream_id(checkpoint: str) -> str:
    with open(os.path.join(checkpoint, "metadata"), encoding="utf-8") as fh:
        return str(json.load(fh)["id"])


def run_available_now(
    stream: DataFrame,
    checkpoint: str,
    handle_batch: Callable[[DataFrame, BatchContext], Any],
    name: str,
) -> int:
    """Process everything new in ``stream`` with ``handle_batch``; return the number of batches.

    An exception raised by ``handle_batch`` stops the stream before its checkpoint commits the
    batch, and is re-raised here unchanged (so the same batch is retried on the next run).
    """
    batches: list[int] = []
    errors: list[BaseException] = []

    def _on_batch(batch_df: DataFrame, batch_id: int) -> None:
        try:
            handle_batch(batch_df, BatchContext(_stream_id(checkpoint), int(batch_id)))
            batches.append(int(batch_id))
        except BaseException as exc:  # surfaced below with its own type and message
            errors.append(exc)
            raise

    query = (
        stream.writeStream.queryName(name)
        .foreachBatch(_on_batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination()
    except Exception:
        if errors:
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]
    return len(batches)
