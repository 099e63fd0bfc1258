"""One long-lived thread that keeps a dashboard's pane data current (no Textual here).

Each applied change used to start a Textual thread worker: a new worker object, its
three state-change messages to the app and a result message, ~1 ms of CPU per change on
these machines (benchmarks/change_cost.py), more than applying the delta itself.
:class:`PaneLoader` runs :meth:`.delta.PaneModel.apply` on one thread that sleeps until a
delta is requested.  A load never overlaps itself: deltas requested while one is applied
are merged and applied next, as one (a burst of changes is one refresh).  If applying
fails the model is marked unloaded, so the next delta reloads everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .delta import Delta, PaneModel, PaneSnapshot


class PaneLoader:
    """``deliver(snapshot)`` and ``failed(error)`` are called on the loader's thread
    (post a message or use ``call_from_thread`` from them)."""

    def __init__(
        self,
        db: Any,
        model: PaneModel,
        now: Callable[[], datetime],
        deliver: Callable[[PaneSnapshot], None],
        failed: Callable[[BaseException], None],
        *,
        name: str = "opstui-panes",
    ) -> None:
        self.db = db
        self.model = model
        self._now = now
        self._deliver = deliver
        self._failed = failed
        self._name = name
        self._cond = threading.Condition()
        self._pending: Delta | None = None
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Deltas applied (or reloads done), for tests and benchmarks.
        self.runs = 0

    @property
    def busy(self) -> bool:
        """Applying a delta, or one is waiting to be applied."""
        with self._cond:
            return self._busy or self._pending is not None

    @property
    def waiting(self) -> bool:
        """A delta is waiting to be applied (after the one being applied, if any)."""
        with self._cond:
            return self._pending is not None

    def request(self, delta: Delta) -> None:
        """Bring the model up to date with ``delta`` (merged with any not yet applied).
        Thread-safe; returns at once."""
        if delta.empty:
            return
        with self._cond:
            if self._closed:
                return
            self._pending = delta if self._pending is None else self._pending.merge(delta)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is applied or pending (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or not (self._busy or self._pending), timeout
            )

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (a delta being applied finishes first; pending ones are dropped)."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._pending is not None)
                if self._closed:
                    return
                delta, self._pending = self._pending, None
                self._busy = True
            try:
                assert delta is not None
                now = self._now()
                with self.db.read() as conn:
                    snap = self.model.apply(conn, delta, now)
                self.runs += 1
                with self._cond:
                    closed = self._closed
                if not closed:
                    self._deliver(snap)
            except Exception as exc:  # the model may be half-updated: reload it next time
                self.model.loaded = False
                try:
                    self._failed(exc)
                except Exception:  # nothing more to do for a callback that fails
                    pass
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
