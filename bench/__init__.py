"""Benchmarks: one script per performance target; each prints a table."""
