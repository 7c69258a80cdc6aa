"""Benchmarks: ``python -m bench.canary_bench`` (canary analysis rules) and
``python -m bench.rehearsal_speed`` (sandbox stand-up and rehearsal wall time)."""
