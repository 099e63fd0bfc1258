"""Store layer: engines, schema and migrations, queries.  The only place that knows SQLite."""

from .engine import Database, make_engine

__all__ = ["Database", "make_engine"]
