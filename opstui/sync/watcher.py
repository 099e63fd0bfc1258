"""Change detection on the shared SQLite file (no Textual here).

How a change is found:

1. watchfiles (inotify on Linux) watches the database's *directory*, not recursively.  A commit
   in WAL mode writes only the ``-wal`` file; watching the file itself would break when it is
   replaced.  Changes to other files in the directory are ignored.
2. A file change is confirmed with ``PRAGMA data_version`` on one dedicated connection: the
   number changes only when *another* connection committed (checkpoints and our own reads
   leave it alone), so a change of the main file by a checkpoint costs one pragma, nothing more.
3. Then the events after this terminal's cursor are read and handed over in id order, in
   batches.  The read runs on that same connection with the statement compiled once
   (``store.queries.events_after_sqlite``: the SQL and records of ``events_after`` without
   SQLAlchemy's pool, BEGIN/COMMIT and result objects); SQLAlchemy's read is the fallback.
   The wait, the check and the read happen in one call per batch (:meth:`_next_watched`),
   so a dashboard's event loop wakes once per change, not once per file event.
4. A slow safety poll (``poll_interval``, 2 s by default) reads only ``data_version``: it catches
   anything the watcher missed (an event lost by the kernel, a commit whose write raced our check).
5. When watching is impossible (the inotify limits are reached, the file is on a network
   filesystem where inotify does not see other machines' writes, or ``--poll``) it polls
   ``data_version`` every ``poll_interval`` seconds instead, and says so in :attr:`mode`.

The watchfiles settings come from ``benchmarks/propagation.py`` (see ``WatchSettings``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store import queries as q
from ..store.engine import BUSY_TIMEOUT_MS, Database
from .cursor import EventCursor

log = logging.getLogger(__name__)

#: Filesystems where inotify does not see writes made by other machines.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "gpfs",
        "fuse.rclone",
        "fuse.s3fs",
        "davfs",
        "fuse.davfs2",
    }
)

#: Events read per query while catching up (a burst is read in pages of this size).
PAGE = 1000


@dataclass(frozen=True)
class WatchSettings:
    """watchfiles ``awatch``/``watch`` parameters (milliseconds).

    watchfiles' Rust loop sleeps ``step`` ms, then yields once a step passes without new file
    changes (or ``debounce`` ms after the first one, whichever comes first).  A commit is
    therefore seen ``step``..``2*step`` ms after it is written.  The defaults (step 50,
    debounce 1600) give ~57 ms median / ~100 ms p95 with 20 watchers.  ``benchmarks/
    propagation.py`` measured step 10 at p95 32 ms with 20 watcher processes and 0.33% of a core
    per idle watcher; step 20 at p95 54 ms and 0.20% (README, "Live sync").  Every step is one
    thread wake-up (GIL, stop-event check), which was the whole idle cost.  On Linux the
    watcher now waits on inotify itself (``sync/inotify.py``): ``step`` is only the quiet
    window after a change, and an idle watcher does not wake at all.  ``debounce`` bounds
    the wait during a continuous stream of writes (a burst is delivered at least every 50 ms
    instead of being held up to 1.6 s).
    ``rust_timeout`` is the safety poll: the Rust call returns after that long without a
    change and we check ``data_version``.
    """

    step: int = 10
    debounce: int = 50

    @classmethod
    def from_env(cls) -> WatchSettings:
        """The defaults, or ``OPSTUI_WATCH_STEP`` / ``OPSTUI_WATCH_DEBOUNCE`` (ms) if set:
        a slower step trades latency for idle CPU (see the README's live-sync table)."""
        values: dict[str, int] = {}
        for name in ("step", "debounce"):
            raw = os.environ.get(f"OPSTUI_WATCH_{name.upper()}", "").strip()
            if raw.isdigit() and 1 <= int(raw) <= 10_000:
                values[name] = int(raw)
        return cls(**values)


def network_fs_type(path: Path, mounts_file: str | os.PathLike[str] = "/proc/mounts") -> str | None:
    """The filesystem type of ``path`` if it is a network filesystem (from /proc/mounts)."""
    try:
        target = os.path.realpath(path)
        with open(mounts_file, encoding="utf-8", errors="replace") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return None
    best, best_type = "", ""
    for parts in mounts:
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, best_type = mnt, parts[2]
    if best_type in NETWORK_FS or best_type.startswith(("nfs", "fuse.sshfs")):
        return best_type
    return None


class ChangeWatcher:
    """Turns "the file changed" into batches of new events for one terminal.

    Use :meth:`abatches` from an async worker, :meth:`batches` from a thread or a plain
    process, or :meth:`check` to look once.  :attr:`mode` says how changes are detected:
    ``"watching"`` or ``"polling (reason)"``.  Call :meth:`stop` (any thread) to end the loops
    and :meth:`close` to release the connection.
    """

    def __init__(
        self,
        db: Database,
        cursor: EventCursor | None = None,
        *,
        poll_interval: float = 2.0,
        force_poll: bool = False,
        settings: WatchSettings = WatchSettings(),
        on_mode: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        #: Called with the new :attr:`mode` when watching falls back to polling.
        self.on_mode = on_mode
        self.path = db.path
        self.cursor = cursor if cursor is not None else EventCursor(self._last_event_id())
        self.poll_interval = max(0.05, float(poll_interval))
        self.settings = settings
        self._force_poll = force_poll
        self._stop = threading.Event()
        self._conn_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        #: The file-change notifier while a watch loop runs (see :meth:`_notifier`).
        self._notify: Any = None
        self.mode = self._initial_mode()
        #: Counters, for the status bar and the benchmark.
        #: Called with each batch in the worker thread that read it (sync.live computes the
        #: batch's notices there: one thread hop per change instead of two).
        self.on_batch: Callable[[list[q.EventRecord]], None] | None = None
        self.checks = 0
        self.reads = 0
        self.fs_wakeups = 0
        #: When data_version was last checked while watching (for the safety poll).
        self._last_check = time.monotonic()
        self.version()  # remember the current data_version: only later commits count

    # --- mode -----------------------------------------------------------------------
    def _initial_mode(self) -> str:
        if self._force_poll:
            return "polling (--poll)"
        fs = network_fs_type(self.path.parent)
        if fs:
            return f"polling (network filesystem {fs})"
        return "watching"

    @property
    def watching(self) -> bool:
        return self.mode == "watching"

    def _fall_back(self, reason: str) -> None:
        log.warning("opstui: cannot watch %s (%s); polling instead", self.path.parent, reason)
        self.mode = f"polling ({reason})"
        if self.on_mode is not None:
            self.on_mode(self.mode)

    # --- the dedicated connection ---------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"file:{self.path}?mode=ro" if self.db.readonly else f"file:{self.path}"
            conn = sqlite3.connect(
                uri,
                uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn = conn
        return self._conn

    def version(self) -> int:
        """``PRAGMA data_version`` now (changes when another connection commits)."""
        with self._conn_lock:
            try:
                value = int(self._connection().execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                # The file went away or was replaced: start a new connection next time.
                self._close_conn()
                raise
            return value

    def _changed(self) -> bool:
        self.checks += 1
        v = self.version()
        if v != self._version:
            self._version = v
            return True
        return False

    def _last_event_id(self) -> int:
        with self.db.read() as conn:
            return q.last_event_id(conn)

    # --- reading --------------------------------------------------------------------
    def read_new(self) -> list[q.EventRecord]:
        """Read every event after the cursor now (no data_version check) and claim it."""
        out: list[q.EventRecord] = []
        while True:
            after = self.cursor.position
            page = self._read_page(after)
            self.reads += 1
            out.extend(self.cursor.claim_read(page, after))
            if len(page) < PAGE:
                return out

    def _read_page(self, after: int) -> list[q.EventRecord]:
        """Up to :data:`PAGE` events after ``after``, in id order.

        Read on the dedicated connection (the one that reads ``data_version``) with the
        statement compiled once (``queries.events_after_sqlite``): no pool checkout, no
        BEGIN/COMMIT, no result object; one statement is one snapshot.  On a driver error
        the connection is dropped and the read goes through SQLAlchemy, which raises the
        usual translated error if the database is really unreadable.
        """
        if self.db.is_sqlite:
            with self._conn_lock:
                try:
                    return q.events_after_sqlite(
                        self._connection(), self.db.engine.dialect, after, PAGE
                    )
                except sqlite3.Error:
                    self._close_conn()
        with self.db.read() as conn:
            return q.events_after(conn, after, PAGE)

    def check(self, *, force: bool = False) -> list[q.EventRecord]:
        """If another connection committed since the last check, the new events (else [])."""
        if not self._changed() and not force:
            return []
        return self.read_new()

    def _check_after_fs_change(self) -> list[q.EventRecord]:
        """A relevant file changed: confirm, re-checking briefly if the commit is in flight."""
        events = self.check()
        if events or self._stop.is_set():
            return events
        # The -wal write is visible before the commit's wal-index update; a check in that
        # window sees the old data_version.  Two short re-checks close the gap cheaply
        # (a checkpoint also lands here: three pragmas, no reads).
        for delay in (0.005, 0.03):
            if self._stop.wait(delay):
                return []
            events = self.check()
            if events:
                return events
        return []

    # --- lifecycle ------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        notify = self._notify
        if notify is not None and hasattr(notify, "wake"):
            notify.wake()  # an inotify wait sleeps until woken (watchfiles' polls the event)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def close(self) -> None:
        self.stop()
        with self._conn_lock:
            self._close_conn()

    def __enter__(self) -> ChangeWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- watchfiles -----------------------------------------------------------------
    def _relevant_names(self) -> frozenset[str]:
        name = self.path.name
        return frozenset({name, f"{name}-wal", f"{name}-journal"})

    @contextmanager
    def _notifier(self) -> Iterator[Any]:
        """Linux inotify, sleeping until a change (sync/inotify.py); elsewhere watchfiles'
        notifier, which wakes every ``step`` ms.  Both have the same ``watch`` call."""
        from .inotify import open_notify

        notify: Any = open_notify(self.path.parent, self._relevant_names())
        if notify is None:
            from watchfiles._rust_notify import RustNotify

            notify = RustNotify([str(self.path.parent)], False, False, 300, False, True)
        self._notify = notify
        try:
            with notify:
                yield notify
        finally:
            self._notify = None

    def _is_relevant(self, changes: set[tuple[Any, str]]) -> bool:
        names = self._relevant_names()
        return any(os.path.basename(p) in names for _change, p in changes)

    # --- sync flavour ---------------------------------------------------------------
    def batches(self) -> Iterator[list[q.EventRecord]]:
        """Yield lists of new events until :meth:`stop` (blocking; for threads and CLIs).

        Events already committed after the cursor come first (one read), so nothing that
        happened between reading the cursor and starting to watch is lost.
        """
        events = self.read_new()
        if events:
            yield events
        if self.watching:
            try:
                yield from self._watch_batches()
                return  # stopped
            except Exception as exc:
                if not _is_watch_error(exc):
                    raise
                if self._stop.is_set():
                    return
                self._fall_back(_watch_error(exc))
        yield from self._poll_batches()

    def _watch_batches(self) -> Iterator[list[q.EventRecord]]:
        self._last_check = time.monotonic()
        with self._notifier() as notify:
            while True:
                events = self._next_watched(notify)
                if events is None:
                    return
                yield events

    def _next_watched(
        self, notify: Any, on_batch: Callable[[list[q.EventRecord]], None] | None = None
    ) -> list[q.EventRecord] | None:
        """Wait for file changes and check them until there are new events (returned,
        after ``on_batch(events)``) or the watcher stops (None).

        One call per batch, in one thread: a change costs the caller one wake-up (for the
        async flavour, one worker-thread round trip), and a wake-up that brings no events (a
        checkpoint, the safety poll) never reaches it.
        """
        s = self.settings
        timeout = int(self.poll_interval * 1000)
        while not self._stop.is_set():
            raw = notify.watch(s.debounce, s.step, timeout, self._stop)
            if raw == "stop" or self._stop.is_set():
                return None
            if raw == "signal":
                raise KeyboardInterrupt
            if raw != "timeout" and self._is_relevant(raw):
                self.fs_wakeups += 1
                events = self._check_after_fs_change()
            elif raw == "timeout" or time.monotonic() - self._last_check >= self.poll_interval:
                events = self.check()  # safety poll
            else:
                continue
            self._last_check = time.monotonic()
            if events:
                if on_batch is not None:
                    on_batch(events)
                return events
        return None

    def _poll_batches(self) -> Iterator[list[q.EventRecord]]:
        while not self._stop.wait(self.poll_interval):
            events = self.check()
            if events:
                yield events

    def run(self, callback: Callable[[list[q.EventRecord]], object]) -> None:
        """Call ``callback(events)`` for every batch until :meth:`stop` (blocking)."""
        for events in self.batches():
            callback(events)

    # --- async flavour --------------------------------------------------------------
    def _batch(self, read: Callable[[], list[q.EventRecord]]) -> list[q.EventRecord]:
        """``read()``, then :attr:`on_batch` on what it read, in the same worker thread."""
        events = read()
        if events and self.on_batch is not None:
            self.on_batch(events)
        return events

    async def abatches(self) -> AsyncIterator[list[q.EventRecord]]:
        """Async version of :meth:`batches`: database work runs in a worker thread."""
        import anyio

        events = await anyio.to_thread.run_sync(self._batch, self.read_new)
        if events:
            yield events
        if self.watching:
            try:
                async for events in self._awatch_batches():
                    yield events
                return  # stopped
            except Exception as exc:
                if not _is_watch_error(exc):
                    raise
                if self._stop.is_set():
                    return
                self._fall_back(_watch_error(exc))
        async for events in self._apoll_batches():
            yield events

    async def _awatch_batches(self) -> AsyncIterator[list[q.EventRecord]]:
        # watchfiles' awatch loop, with one difference: the blocking Rust call is *abandoned*
        # on cancellation (after setting the stop event, which ends it within one step), so a
        # quitting app does not wait up to ``rust_timeout`` for it.
        import anyio

        #
        # The wait and the reads run in one worker-thread call per batch (_next_watched): a
        # change costs the event loop one thread round trip, and wake-ups without new events
        # never reach it.  An abandoned call that was reading can only have claimed events
        # for this watcher's own cursor, which stops with it.
        self._last_check = time.monotonic()
        with self._notifier() as notify:
            while not self._stop.is_set():
                try:
                    events = await anyio.to_thread.run_sync(
                        self._next_watched, notify, self.on_batch, abandon_on_cancel=True
                    )
                except Exception:
                    raise  # the call's own error: it has ended (abatches decides)
                except BaseException:
                    self._stop.set()  # cancelled: the abandoned call ends at its next look
                    raise
                if events is None or self._stop.is_set():
                    return
                yield events

    async def _apoll_batches(self) -> AsyncIterator[list[q.EventRecord]]:
        import anyio

        while not self._stop.is_set():
            await anyio.sleep(self.poll_interval)
            if self._stop.is_set():
                return
            events = await anyio.to_thread.run_sync(self._batch, self.check)
            if events:
                yield events


def _is_watch_error(exc: BaseException) -> bool:
    """An error from setting up inotify (not from our own database work)."""
    return isinstance(exc, OSError) or type(exc).__name__ == "WatchfilesRustInternalError"


def _watch_error(exc: BaseException) -> str:
    text = str(exc).lower()
    if "limit" in text or "no space left" in text or "too many" in text:
        return "inotify limit reached"
    return f"watch failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
