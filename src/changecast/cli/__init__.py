"""The ``changecast`` command line (Typer + rich)."""
