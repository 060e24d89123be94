"""Run an incremental step the way Databricks Auto Loader / DLT do: a triggered stream.

A step reads a streaming source (new files, or rows appended to a Delta table), processes each
micro-batch with a plain function, and stops when nothing is left (``trigger(availableNow=True)``).
The checkpoint remembers what was processed, so a rerun with nothing new does nothing. Writes in
the batch function use Delta's ``txnAppId``/``txnVersion`` with :func:`batch_txn` so a retried
batch is not written twice: at-least-once delivery, exactly-once tables.

The stream's id is the query's own (``StreamingQuery.id``, which Spark keeps in the checkpoint and
restores on every restart), so nothing here reads the checkpoint folder with local file APIs: the
checkpoint may live on a Unity Catalog volume or in cloud storage.
"""

from __future__ import annotations

import threading
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


#: How long a micro-batch waits for ``start()`` to hand over the query's id (it is immediate).
_ID_TIMEOUT_S = 600.0


class _QueryId:
    """The running query's id, set by the caller once ``start()`` returns; batches wait for it."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._value = ""

    def set(self, value: str) -> None:
        self._value = value
        self._ready.set()

    def get(self) -> str:
        if not self._ready.wait(_ID_TIMEOUT_S):
            raise TimeoutError("the streaming query did not report its id")
        return self._value


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
    query_id = _QueryId()

    def _on_batch(batch_df: DataFrame, batch_id: int) -> None:
        try:
            handle_batch(batch_df, BatchContext(query_id.get(), int(batch_id)))
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
    query_id.set(str(query.id))
    try:
        query.awaitTermination()
    except Exception:
        if errors:
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]
    return len(batches)
