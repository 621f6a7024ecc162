"""Metrics: a port domain code records counts and timings through, and its adapters (EMF, log)."""
