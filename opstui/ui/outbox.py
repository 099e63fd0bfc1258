"""The outbox inside an open dashboard: a thread worker that sends due deliveries while
this terminal holds the deliverer lease, and keeps the status bar's outbox line current.

It never writes while nothing is due: it reads when the next delivery is due (one index
probe), sleeps until then or until the change feed nudges it, and only then takes the
deliverer lease (a write).  So idle dashboards stay idle, and of several open dashboards
only the one holding the lease sends.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..errors import OpsError

#: Longest sleep between looks when nothing is due (a safety net: nudges do the work).
IDLE_LOOK = 60.0
#: How often the sleeping thread checks that the app is closing.
SLICE = 0.5


class OutboxWorker:
    def __init__(self, app: Any, *, send: bool) -> None:
        from ..services import outbox as svc

        self.app = app
        self.send = send
        self.owner = svc.owner_id()
        self.wake = threading.Event()
        self.summary: Any = None
        #: The hook events the active hooks heard at the last look (None: unknown, not
        #: looked yet or the hooks changed since).
        self.heard: frozenset[str] | None = None
        #: Hook changes seen in the change feed: a look that began before one does not
        #: say what is heard now.
        self._hook_changes = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        self.app.run_worker(
            self._run, thread=True, group="outbox", exclusive=True, exit_on_error=False
        )

    def nudge(self) -> None:
        """Something changed (a delivery may have been written): look now."""
        self.wake.set()

    def changed(self, events: Any) -> None:
        """The change feed applied ``events``: look now if they could have written a
        delivery or changed the hooks (an owner change with no hook on assignments
        costs every open dashboard nothing here)."""
        from ..services.outbox import HOOK_ENTITIES, may_deliver

        events = list(events)
        if any(e.entity in HOOK_ENTITIES for e in events):
            with self._lock:  # what is heard is unknown until the next look
                self._hook_changes += 1
                self.heard = None
        if may_deliver(events, self.heard):
            self.wake.set()

    def _look(self, db: Any) -> Any:
        """One look; notes what the hooks hear unless they changed meanwhile."""
        from ..services import outbox as svc

        with self._lock:
            changes = self._hook_changes
        seen = svc.look(db)
        with self._lock:
            if changes == self._hook_changes:
                self.heard = seen.heard
        return seen

    def _run(self) -> None:
        from textual.worker import get_current_worker

        from ..services import outbox as svc

        worker = get_current_worker()
        db = self.app.db
        held = False
        while not worker.is_cancelled:
            self.wake.clear()
            timeout = IDLE_LOOK
            try:
                now = db.clock.now()
                seen = self._look(db)
                due, summary = seen.next_due, seen.failing
                elected = True
                if self.send and due is not None and due <= now:
                    report = svc.deliver(db, self.owner, stop=worker.cancelled_event)
                    held, elected = held or report.elected, report.elected
                    seen = self._look(db)
                    due, summary = seen.next_due, seen.failing
                if not elected:  # another deliverer sends: ask again when its lease could lapse
                    timeout = svc.ELECTION_TTL.total_seconds() / 2
                elif due is not None:
                    timeout = min(IDLE_LOOK, max(0.2, (due - db.clock.now()).total_seconds()))
            except (OpsError, SQLAlchemyError):
                summary, timeout = self.summary, 5.0  # busy or gone: look again soon
            if summary != self.summary:
                self.summary = summary
                self.app.call_from_thread(self.app.show_outbox, summary)
            waited = 0.0
            while waited < timeout and not worker.is_cancelled:
                if self.wake.wait(min(SLICE, timeout - waited)):
                    break
                waited += SLICE
        if held:
            try:
                svc.resign(db, self.owner)
            except (OpsError, SQLAlchemyError):
                pass  # the lease runs out by itself
