"""Store layer: engines, schema and migrations, queries.  The only place that knows SQLite.

``Database`` and ``make_engine`` are loaded on first use: importing a light module of this
package (``store.lite``, ``store.records``) must not import SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Database", "make_engine"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
