"""Benchmarks for issue 8: `python -m bench` prints every figure side by side."""
