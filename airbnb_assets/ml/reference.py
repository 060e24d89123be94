"""Where a model version's drift reference lives, and how the model asset stores it at registration.

The reference is a fixed-seed sample of the rows the version was fit on; the drift report
(:mod:`airbnb_assets.monitoring.drift.reference`) reads it from the artefact store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from airbnb_assets.platform.lakehouse import LakehouseResource


def reference_path(model_name: str, version: str) -> str:
    """Artefact path of a version's reference sample."""
    return f"drift/reference/{model_name}/v{version}.parquet"


def store_reference(
    lakehouse: LakehouseResource,
    model_name: str,
    version: str,
    fitted_rows: pd.DataFrame,
    features: list[str],
    max_rows: int,
    seed: int,
) -> str:
    """Store a registered version's reference: a fixed-seed sample of the rows it was fit on.

    Returns the artefact path (relative to the artefact store).
    """
    reference = fitted_rows[features]
    if len(reference) > max_rows:
        reference = reference.sample(n=max_rows, random_state=seed)
    relative = reference_path(model_name, version)
    lakehouse.artifacts.write_parquet(relative, reference.reset_index(drop=True))
    return relative
