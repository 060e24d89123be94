"""Benchmarks of the daily job against a bare PySpark floor (``make bench``; see RESULTS.md)."""
