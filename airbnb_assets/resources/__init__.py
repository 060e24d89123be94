"""Dagster resources: the Spark session and the lakehouse (table names, paths, reads and writes)."""
