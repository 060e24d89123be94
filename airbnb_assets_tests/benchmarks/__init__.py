"""Smoke tests of the benchmark suite (``benchmarks/``)."""
