"""Following the event log from a plain (non-UI) process."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..store import queries as q
from ..store.engine import Database


def follow_events(db: Database, cursor: int, interval: float = 0.2) -> Iterator[q.EventRecord]:
    """Yield events after ``cursor`` forever, as they are committed."""
    while True:
        with db.read() as conn:
            events = q.events_after(conn, cursor, 1000)
        for e in events:
            cursor = e.id
            yield e
        if not events:
            time.sleep(interval)
