"""Benchmarks of tap-batchimport against the project's vendor emulator (``run.py``)."""
