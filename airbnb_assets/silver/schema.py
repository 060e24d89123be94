"""The declared silver schema: every column, its type, and the header aliases that map to it.

Parsers handle the real snapshots' quirks: ``"$1,234.00 "`` prices, ISO and ``M/D/YY`` dates,
``t``/``f`` booleans and ``N/A`` as null. A value that is present but cannot be parsed becomes
null and its column is listed in ``_parse_errors`` (a drop expectation sends the row to
quarantine), so nothing turns silently into null.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Parser names and the Spark type each one produces.
PARSER_TYPES = {
    "string": "string",
    "long": "bigint",
    "int": "int",
    "double": "double",
    "currency": "double",
    "boolean": "boolean",
    "date": "date",
}


@dataclass(frozen=True)
class SilverColumn:
    """One silver column: name, parser (see :data:`PARSER_TYPES`) and meaning."""

    name: str
    parser: str
    description: str

    @property
    def spark_type(self) -> str:
        """The Spark SQL type of the parsed column."""
        return PARSER_TYPES[self.parser]


SILVER_COLUMNS: tuple[SilverColumn, ...] = (
    SilverColumn("id", "long", "Inside Airbnb listing id."),
    SilverColumn("name", "string", "Listing title as published (Mac Roman files decoded as such)."),
    SilverColumn("host_id", "long", "Host id."),
    SilverColumn("host_name", "string", "Host first name(s)."),
    SilverColumn("host_response_time", "string", "Host response time bucket (2019-06 only)."),
    SilverColumn("host_is_superhost", "boolean", "Superhost flag, from t/f (2019-06 only)."),
    SilverColumn("neighbourhood", "string", "SF planning neighbourhood."),
    SilverColumn("latitude", "double", "Latitude (WGS84)."),
    SilverColumn("longitude", "double", "Longitude (WGS84)."),
    SilverColumn(
        "room_type", "string", "Entire home/apt, Private room, Shared room (Hotel room from 2019-10)."
    ),
    SilverColumn("price", "currency", "Nightly price in USD; null when the arrival has none."),
    SilverColumn("security_deposit", "currency", "Security deposit in USD (2019-06 only)."),
    SilverColumn("cleaning_fee", "currency", "Cleaning fee in USD (2019-06 only)."),
    SilverColumn("minimum_nights", "int", "Minimum nights per stay."),
    SilverColumn("number_of_reviews", "int", "Number of reviews."),
    SilverColumn("last_review", "date", "Date of the latest review (ISO or M/D/YY in the source)."),
    SilverColumn("reviews_per_month", "double", "Reviews per month."),
    SilverColumn("review_scores_rating", "double", "Overall rating, 0-100 (2019-06 only)."),
    SilverColumn("review_scores_accuracy", "double", "Accuracy score, 0-10 (2019-06 only)."),
    SilverColumn("review_scores_cleanliness", "double", "Cleanliness score, 0-10 (2019-06 only)."),
    SilverColumn("review_scores_checkin", "double", "Check-in score, 0-10 (2019-06 only)."),
    SilverColumn("review_scores_communication", "double", "Communication score, 0-10 (2019-06 only)."),
    SilverColumn("review_scores_location", "double", "Location score, 0-10 (2019-06 only)."),
    SilverColumn("review_scores_value", "double", "Value score, 0-10 (2019-06 only)."),
    SilverColumn("calculated_host_listings_count", "int", "Listings of the same host in the scrape."),
    SilverColumn("availability_365", "int", "Days available in the next 365."),
)

#: Source header → silver column, for header variants of the same field.
HEADER_ALIASES: dict[str, str] = {
    "neighbohhood": "neighbourhood",  # misspelled header of the 2019-10-14 file
    "neighbourhood_cleansed": "neighbourhood",  # detailed-file name of the same field
    "listing_id": "id",
}

#: Raw values that mean "missing" in any column.
NULL_TOKENS: tuple[str, ...] = ("", "N/A", "n/a", "NA", "null", "NULL", "None")

#: Provenance and audit columns carried on every silver and quarantine row: name, type, meaning.
AUDIT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("snapshot_date", "date", "Scrape date of the source file (from its name)."),
    ("_source_file", "string", "Landed file the row came from."),
    ("_ingested_at", "timestamp", "When bronze ingested the file."),
    ("_rescued_data", "string", "Raw text of a row whose fields did not match its header, else null."),
    ("_parse_errors", "array<string>", "Columns whose value was present but could not be parsed."),
    ("_processed_at", "timestamp", "When silver processed the row."),
)
#: Columns only silver rows carry.
SILVER_ONLY: tuple[tuple[str, str, str], ...] = (
    ("_batch", "string", "Bronze micro-batch (stream id:batch id) that wrote the row."),
)
#: Columns only quarantine rows carry.
QUARANTINE_ONLY: tuple[tuple[str, str, str], ...] = (
    ("_bronze_record", "string", "The row's raw bronze values as JSON."),
    ("_quarantine_reason", "string", "Why the row is here: rule names, a hold, a re-delivery, an operator."),
    ("_held", "boolean", "True while the row's file is held by a fail rule (release or reject it)."),
    ("_failed_rules", "array<string>", "Expectations the row fails."),
)


def table_columns(extra: tuple[tuple[str, str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """A silver table's columns (name, type, meaning): the declared ones, the audit ones, ``extra``."""
    return (*[(c.name, c.spark_type, c.description) for c in SILVER_COLUMNS], *AUDIT_COLUMNS, *extra)


#: The columns ``silver/listings`` and ``silver/listings_quarantine`` hold (name, type, meaning).
SILVER_TABLE_COLUMNS = table_columns(SILVER_ONLY)
QUARANTINE_TABLE_COLUMNS = table_columns(QUARANTINE_ONLY)
