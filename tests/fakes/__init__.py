"""Fakes that implement our ports in memory, kept honest by the contract tests."""
