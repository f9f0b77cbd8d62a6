"""Mnemo benchmarks: `python -m bench` (see bench/README.md and docs/benchmarks.md)."""
