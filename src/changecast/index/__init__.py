"""The derived SQL index of changes (SQLite with FTS5, or PostgreSQL with tsvector)."""

from changecast.index.engine import open_index
from changecast.index.store import SqlChangeIndex

__all__ = ["SqlChangeIndex", "open_index"]
