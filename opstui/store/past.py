"""Whether a SQLite file's board has moved on since a moment: read with sqlite3 alone.

A command given ``--now`` asks this first; only a moment in the past then loads the
as-of machinery (``store.asof``, SQLAlchemy), so a ``--now`` read of the present stays on
the light path (``store.lite``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

#: The newest item change: down the ``ts`` index, stopping at the first item event.
LATEST_CHANGE_SQL = "SELECT ts FROM event WHERE item_id IS NOT NULL ORDER BY ts DESC LIMIT 1"


def stored(at: datetime) -> str:
    """``at`` as SQLite holds times (``types.UTCDateTime``: naive UTC text, microseconds
    always), so that text order is time order."""
    naive = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def changed_after(path: Path, at: datetime) -> bool | None:
    """Whether the SQLite file ``path`` has item changes after ``at``; None if it cannot
    tell (not a readable opstui file: the full store explains)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = con.execute(LATEST_CHANGE_SQL).fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return row is not None and row[0] > stored(at)
