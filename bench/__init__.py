"""Benchmarks: ``python -m bench.canary_bench`` (canary analysis, issue 4) and the others here."""
