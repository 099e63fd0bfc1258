"""Following the event log from a plain (non-UI) process (``opstui events --follow``)."""

from __future__ import annotations

from collections.abc import Iterator

from ..store import queries as q
from ..store.engine import Database
from .cursor import EventCursor
from .listener import watcher_for
from .watcher import WatchSettings


def follow_events(
    db: Database,
    cursor: int,
    *,
    poll_interval: float = 2.0,
    force_poll: bool = False,
    settings: WatchSettings | None = None,
) -> Iterator[q.EventRecord]:
    """Yield events after ``cursor`` forever, as they are committed (watching the file).

    Events already committed after ``cursor`` come first.  Closing the generator stops the
    watcher and releases its connection.
    """
    watcher = watcher_for(
        db,
        EventCursor(cursor),
        poll_interval=poll_interval,
        force_poll=force_poll,
        settings=settings or WatchSettings.from_env(),
    )
    try:
        for batch in watcher.batches():
            yield from batch
    finally:
        watcher.close()
