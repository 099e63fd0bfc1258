"""Change detection on a PostgreSQL store: LISTEN beside the file watcher (no Textual here).

How a change is found:

1. Every statement that appends to the event log fires a trigger that calls ``pg_notify`` in
   the writing transaction (``store.dialect``), so a notification arrives only for a change
   that committed.
2. Each terminal holds **one** session-level connection in autocommit that has run
   ``LISTEN``.  A notification only says "look": once notifications stop for ``step`` ms (at
   most ``debounce`` ms, the file watcher's ``WatchSettings``), the events after this
   terminal's cursor are read (``store.queries.events_after``) and handed over in id order,
   exactly as the SQLite watcher does.  The event cursor stays the source of truth.
3. If the connection drops (server restart, network), :attr:`mode` becomes
   ``"reconnecting (...)"`` and the listener retries with a growing pause; once it listens
   again it reads everything after the cursor (a full catch-up), then goes back to
   ``"watching"``.
4. Between notifications the connection is pinged every ``poll_interval`` seconds, so a dead
   connection is noticed even when nothing is written.

The listening connection must be a real session: behind PgBouncer, point opstui at a
session-pooled entry (transaction pooling drops LISTEN).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..errors import StoreError
from ..store import dialect
from ..store import queries as q
from ..store.engine import Database
from .cursor import EventCursor
from .watcher import WatchSettings

log = logging.getLogger(__name__)

#: Events read per query while catching up.
PAGE = 1000
#: How long one wait for notifications blocks before checking the stop flag (seconds).
WAKE = 0.5
#: Pauses between reconnection attempts (seconds); the last one repeats.
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class ServerListener:
    """Turns PostgreSQL notifications into batches of new events for one terminal.

    The same interface as :class:`opstui.sync.watcher.ChangeWatcher`: :meth:`batches`,
    :meth:`abatches`, :meth:`check`, :meth:`read_new`, :attr:`mode`, :meth:`stop`,
    :meth:`close`.
    """

    def __init__(
        self,
        db: Database,
        cursor: EventCursor | None = None,
        *,
        poll_interval: float = 2.0,
        force_poll: bool = False,
        on_mode: Callable[[str], object] | None = None,
        **_ignored: Any,
    ) -> None:
        self.db = db
        self.on_mode = on_mode
        self.poll_interval = max(0.05, float(poll_interval))
        #: The quiet window after a notification: the file watcher's (one definition).
        self._settings = WatchSettings.from_env()
        self._force_poll = force_poll
        self._stop = threading.Event()
        self._conn_lock = threading.Lock()
        self._conn: Any = None
        self.cursor = cursor if cursor is not None else EventCursor(self._last_event_id())
        self.mode = "polling (--poll)" if force_poll else "watching"
        #: Counters, for the status bar and the benchmark.
        self.checks = 0
        self.reads = 0
        self.notifications = 0
        self.reconnects = 0
        if not force_poll:
            try:
                self._connection()
            except StoreError as exc:
                self.mode = f"reconnecting ({_short(str(exc))})"

    @property
    def watching(self) -> bool:
        return self.mode == "watching"

    def _last_event_id(self) -> int:
        with self.db.read() as conn:
            return q.last_event_id(conn)

    # --- the listening connection ----------------------------------------------------
    def _connection(self) -> Any:
        """The LISTEN connection (opened on first use).  Raises StoreError."""
        import psycopg

        with self._conn_lock:
            if self._conn is None:
                try:
                    conn = psycopg.connect(
                        dialect.libpq_url(self.db.target),
                        autocommit=True,
                        connect_timeout=dialect.CONNECT_TIMEOUT_S,
                        application_name="opstui-listen",
                        keepalives=1,
                        keepalives_idle=10,
                        keepalives_interval=5,
                        keepalives_count=3,
                    )
                    conn.execute(f"LISTEN {dialect.CHANNEL}")
                except psycopg.Error as exc:
                    raise _one_line(exc, self.db.name) from exc
                self._conn = conn
            return self._conn

    def _drop_connection(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None

    # --- reading --------------------------------------------------------------------
    def read_new(self) -> list[q.EventRecord]:
        """Read every event after the cursor now and claim it."""
        out: list[q.EventRecord] = []
        while True:
            after = self.cursor.position
            with self.db.read(one_statement=True) as conn:
                page = q.events_after(conn, after, PAGE)
            self.reads += 1
            out.extend(self.cursor.claim_read(page, after))
            if len(page) < PAGE:
                return out

    def check(self, *, force: bool = False) -> list[q.EventRecord]:
        """The events after the cursor now (a read is as cheap as a change check here)."""
        self.checks += 1
        return self.read_new()

    def _wait(self) -> bool:
        """Block until a notification (True), or a quiet ``poll_interval`` (False).

        Raises psycopg errors when the connection is lost.
        """
        conn = self._connection()
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            got = False
            for _n in conn.notifies(timeout=WAKE, stop_after=1):
                got = True
            if got:
                self._settle(conn)
                self.notifications += 1
                return True
            if time.monotonic() - quiet_since >= self.poll_interval:
                conn.execute("SELECT 1")  # a dead connection fails here
                return False
        return False

    def _settle(self, conn: Any) -> None:
        """After a notification, wait until ``step`` ms pass without another (at most
        ``debounce`` ms), as the file watcher waits for the file to settle: a burst of
        commits (an import, a script) is read as one batch, not one read per commit."""
        settings = self._settings
        deadline = time.monotonic() + settings.debounce / 1000
        while time.monotonic() < deadline:
            more = False
            for _n in conn.notifies(timeout=settings.step / 1000, stop_after=1):
                more = True
            if not more:
                break
        for _n in conn.notifies(timeout=0.0):  # whatever else is already queued
            pass

    def _next(self) -> tuple[list[q.EventRecord], str | None]:
        """Wait for the next batch (blocking).  Returns (events, new mode or None): a lost
        connection returns at once with the "reconnecting" mode, so callers can show it."""
        import psycopg

        attempt = 0
        while not self._stop.is_set():
            if self.mode != "watching":
                try:
                    self._connection()
                    events = self.read_new()  # the catch-up after reconnecting
                except StoreError as exc:
                    self._drop_connection()
                    self.mode = f"reconnecting ({_short(str(exc))})"
                    pause = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                    attempt += 1
                    if self._stop.wait(pause):
                        break
                    continue
                self.reconnects += 1
                self.mode = "watching"
                return events, self.mode
            try:
                if not self._wait():
                    continue
                events = self.read_new()
            except (psycopg.Error, OSError, StoreError) as exc:
                why = exc if isinstance(exc, StoreError) else _one_line(exc, self.db.name)
                self._lost(str(why))
                return [], self.mode
            if events:
                return events, None
        return [], None

    def _lost(self, why: str) -> None:
        log.warning("opstui: lost the PostgreSQL listener (%s); reconnecting", why)
        self._drop_connection()
        self.mode = f"reconnecting ({_short(why)})"

    # --- lifecycle ------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self.stop()
        self._drop_connection()

    def __enter__(self) -> ServerListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sync flavour ---------------------------------------------------------------
    def batches(self) -> Iterator[list[q.EventRecord]]:
        """Yield lists of new events until :meth:`stop` (blocking; for threads and CLIs).

        Events already committed after the cursor come first (one read)."""
        events = self.read_new()
        if events:
            yield events
        if self._force_poll:
            while not self._stop.wait(self.poll_interval):
                events = self.check()
                if events:
                    yield events
            return
        while not self._stop.is_set():
            events, mode = self._next()
            if mode is not None and self.on_mode is not None:
                self.on_mode(mode)
            if events:
                yield events

    def run(self, callback: Callable[[list[q.EventRecord]], object]) -> None:
        for events in self.batches():
            callback(events)

    # --- async flavour --------------------------------------------------------------
    async def abatches(self) -> AsyncIterator[list[q.EventRecord]]:
        """Async version of :meth:`batches`: the waiting and reading run in worker threads,
        and ``on_mode`` is called on the caller's event loop."""
        import anyio

        try:
            events = await anyio.to_thread.run_sync(self.read_new)
        except StoreError as exc:
            self._lost(str(exc))
            events = []
            if self.on_mode is not None:
                self.on_mode(self.mode)
        if events:
            yield events
        while not self._stop.is_set():
            if self._force_poll:
                await anyio.sleep(self.poll_interval)
                if self._stop.is_set():
                    return
                events, mode = await anyio.to_thread.run_sync(self.check), None
            else:
                try:
                    events, mode = await anyio.to_thread.run_sync(
                        self._next, abandon_on_cancel=True
                    )
                except BaseException:
                    self._stop.set()
                    raise
            if mode is not None and self.on_mode is not None:
                self.on_mode(mode)
            if events:
                yield events


def _short(why: str) -> str:
    """A few words for the status bar (the whole line goes to the log)."""
    low = why.lower()
    if "does not exist" in low:
        return "database missing"
    if "lacks rights" in low or "refused the" in low:
        return "login refused"
    if "cannot reach" in low and "closed the connection" not in low:
        return "server unreachable"
    return "connection lost"


def _one_line(exc: BaseException, where: str) -> StoreError:
    mapped = dialect.translate_pg_error(exc, where)
    if mapped is not None:
        return mapped
    text = str(exc).strip().splitlines()
    return StoreError(f"the PostgreSQL listener failed: {text[0] if text else type(exc).__name__}")


def watcher_for(db: Database, cursor: EventCursor | None = None, **kwargs: Any) -> Any:
    """The change detector for this store: a LISTEN connection on PostgreSQL, the file
    watcher on SQLite."""
    if db.dialect == "postgresql":
        return ServerListener(db, cursor, **kwargs)
    from .watcher import ChangeWatcher

    return ChangeWatcher(db, cursor, **kwargs)
