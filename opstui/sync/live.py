"""What a live terminal needs from sync, in one object (no Textual here).

The dashboard runs :meth:`LiveFeed.updates` in one exclusive async worker::

    feed = LiveFeed(db, app.event_cursor, poll_interval=config.poll_interval, force_poll=poll)
    async for update in feed.updates():
        app.refresh_from_events(update.events)   # main thread (async worker)
        for notice in update.notices: ...        # toast, bell

and tells the feed about its own writes with :meth:`LiveFeed.applied` (so the watcher skips
them).  Database work (data_version, reading events, who-am-I, SLA owners) runs in worker
threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ..store import queries as q
from ..store.engine import Database
from .cursor import EventCursor
from .listener import watcher_for
from .notices import Notice, Viewer, load_viewer, notices_for, sla_owners
from .watcher import WatchSettings

#: Events that can change who I am or which queues I triage.
_VIEWER_ENTITIES = frozenset({"person", "queue", "load"})


@dataclass(frozen=True)
class Update:
    events: list[q.EventRecord]
    notices: list[Notice]


class LiveFeed:
    def __init__(
        self,
        db: Database,
        position: int,
        *,
        poll_interval: float = 2.0,
        force_poll: bool = False,
        settings: WatchSettings | None = None,
        notices: bool = True,
        on_mode: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        self.cursor = EventCursor(position)
        self.watcher = watcher_for(
            db,
            self.cursor,
            poll_interval=poll_interval,
            force_poll=force_poll,
            settings=settings or WatchSettings.from_env(),
            on_mode=on_mode,
        )
        self.want_notices = notices
        self._viewer: Viewer | None = None
        #: The last batch and its notices, computed in the watcher's thread.
        self._ready: tuple[list[q.EventRecord], list[Notice]] | None = None

    @property
    def mode(self) -> str:
        return self.watcher.mode

    def applied(self, position: int) -> None:
        """The terminal applied every event up to ``position`` itself (its own write)."""
        self.cursor.advance_to(position)

    def _notices(self, events: list[q.EventRecord]) -> list[Notice]:
        if not self.want_notices:
            return []
        if self._viewer is None or any(e.entity in _VIEWER_ENTITIES for e in events):
            self._viewer = load_viewer(self.db)
        if self._viewer.handle is None:
            return []
        return notices_for(events, self._viewer, sla_owners(self.db, events))

    def _on_batch(self, events: list[q.EventRecord]) -> None:
        """In the watcher's worker thread, right after it read ``events``.  A failure here
        must not cost the watcher its batch: updates() then computes the notices again
        (and reports the error) as it did before."""
        try:
            self._ready = (events, self._notices(events))
        except Exception:
            self._ready = None

    async def updates(self) -> AsyncIterator[Update]:
        import anyio

        if hasattr(self.watcher, "on_batch"):  # the file watcher: notices in its thread
            self.watcher.on_batch = self._on_batch
        async for events in self.watcher.abatches():
            ready, self._ready = self._ready, None
            if ready is not None and ready[0] is events:
                notices = ready[1]
            else:
                notices = await anyio.to_thread.run_sync(self._notices, events)
            yield Update(events, notices)

    def close(self) -> None:
        self.watcher.close()
