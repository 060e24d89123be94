"""The declared feature list and the silver → gold transform.

Every numeric feature is a double and every categorical one a string, so the table's types never
change with the source files (the model's feature contract relies on that). ``price`` is the
target and may be null (future arrivals without a price are still scored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class Feature:
    """A model feature: name, kind, the SQL expression over silver that computes it, meaning.

    ``required`` features are part of the data contract every arrival must honour: a snapshot
    that lacks one (null on more than :data:`MAX_MISSING_SHARE` of its rows) raises a check on
    silver and blocks the promotion of a model retrained on it. ``source`` is the silver column
    the feature comes from (checked for presence on silver).
    """

    name: str
    kind: Literal["numeric", "categorical", "text"]
    expression: str
    description: str
    required: bool = True
    source: str = ""

    @property
    def spark_type(self) -> str:
        """``double`` for numeric features, ``string`` for categorical and text ones."""
        return "double" if self.kind == "numeric" else "string"

    @property
    def source_column(self) -> str:
        """The silver column this feature is computed from."""
        return self.source or self.expression


FEATURES: tuple[Feature, ...] = (
    Feature("neighbourhood", "categorical", "neighbourhood", "SF planning neighbourhood."),
    Feature("room_type", "categorical", "room_type", "Room type (unseen types are still scored)."),
    Feature("latitude", "numeric", "latitude", "Latitude."),
    Feature("longitude", "numeric", "longitude", "Longitude."),
    Feature("minimum_nights", "numeric", "minimum_nights", "Minimum nights per stay."),
    Feature("number_of_reviews", "numeric", "number_of_reviews", "Number of reviews."),
    Feature(
        "reviews_per_month",
        "numeric",
        "coalesce(reviews_per_month, CASE WHEN number_of_reviews = 0 THEN 0D END)",
        "Reviews per month (0 without reviews).",
        source="reviews_per_month",
    ),
    Feature(
        "days_since_last_review",
        "numeric",
        "datediff(snapshot_date, last_review)",
        "Days between the latest review and the snapshot (null without reviews).",
        source="last_review",
    ),
    Feature("availability_365", "numeric", "availability_365", "Days available in the next 365."),
    Feature(
        "host_listings_count",
        "numeric",
        "calculated_host_listings_count",
        "Listings of the same host in the snapshot.",
    ),
    Feature(
        "host_is_superhost",
        "numeric",
        "CAST(host_is_superhost AS INT)",
        "1 for superhosts (detailed extracts only).",
        required=False,
        source="host_is_superhost",
    ),
    Feature(
        "review_scores_rating",
        "numeric",
        "review_scores_rating",
        "Overall rating, 0-100 (detailed extracts only).",
        required=False,
    ),
    Feature(
        "cleaning_fee",
        "numeric",
        "cleaning_fee",
        "Cleaning fee in USD (detailed extracts only).",
        required=False,
    ),
    Feature(
        "name",
        "text",
        "name",
        "Listing title: carries size, quality and location words (studio, 2BR, luxury, view).",
    ),
)
#: A required feature is missing from a snapshot when it is null on more than this share of its rows.
MAX_MISSING_SHARE = 0.5
#: The target column (nullable).
TARGET = "price"
#: Columns that identify a gold row.
KEYS = ("listing_id", "snapshot_date")
#: The columns of ``gold/listing_features`` (name, type, meaning): what :func:`build_features` writes.
FEATURE_TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("listing_id", "bigint", "Inside Airbnb listing id."),
    ("snapshot_date", "date", "Scrape date of the source file."),
    *[(f.name, f.spark_type, f.description) for f in FEATURES],
    (TARGET, "double", "Nightly price in USD (the target); null without one."),
    ("_built_at", "timestamp", "When the row was built."),
)


def build_features(silver: DataFrame, features: tuple[Feature, ...] = FEATURES) -> DataFrame:
    """Silver rows → gold rows: keys, the declared features (typed), the target and build time."""
    return silver.select(
        F.col("id").alias("listing_id"),
        "snapshot_date",
        *[F.expr(f.expression).cast(f.spark_type).alias(f.name) for f in features],
        F.col("price").cast("double").alias(TARGET),
        F.current_timestamp().alias("_built_at"),
    )
