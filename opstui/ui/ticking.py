"""The app's one clock tick and its housekeeping (SLA crossings, due processes, drift).

Mixed into :class:`opstui.ui.app.OpsApp`.  The tick runs as often as the screen in view
needs (when a visible countdown under an hour reads differently, else on the minute) and
never queries; housekeeping runs in a thread worker when something it keeps is due."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from textual import work
from textual.app import App

from ..domain.text import one_line
from ..store import queries as q
from ..sync.delta import Delta

#: How often an open terminal asks the forecast which items started or stopped drifting.
DRIFT_EVERY = timedelta(minutes=5)


def _next_boundary(now: datetime, every: timedelta) -> datetime:
    """The next multiple of ``every`` after ``now`` on the wall clock (terminals that look
    at the same moments find the work already done by the first)."""
    step = every.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step + 1) * step, tz=now.tzinfo)


def pane_screens() -> tuple[type, ...]:
    """Screens that show the dashboard panes' data (they get ``show`` and ``tick``)."""
    from .screens.main import MainScreen
    from .screens.wall import WallScreen

    return (MainScreen, WallScreen)


class TickMixin:
    """The tick timer, the countdowns' cadence and housekeeping."""

    # --- the clock tick: as often as the screen in view needs, no more ------------------

    def _schedule_tick(self) -> None:
        """(Re)arm the one tick timer for :meth:`tick_delay` from now.  An armed timer due
        at the same moment is kept: every applied change asks, and a new timer (a task of
        its own) costs more than the question."""
        if self._exit or self._closing:  # exiting (e.g. the terminal went away): no more ticks
            if self._tick_timer is not None:
                self._tick_timer.stop()
                self._tick_timer = None
            return
        delay = self.tick_delay()
        due = time.monotonic() + delay
        if self._tick_timer is not None:
            if abs(due - getattr(self, "_tick_due", -1.0)) < 0.01:
                return
            self._tick_timer.stop()
            self._tick_timer = None
        self._tick_due = due
        self._tick_timer = self.set_timer(delay, self._on_tick_timer, name="tick")

    def _on_tick_timer(self) -> None:
        self._tick_timer = None
        try:
            self._tick()
        finally:
            self._schedule_tick()

    def tick_delay(self) -> float:
        """Seconds to the next tick: when a countdown under an hour in the SLA pane next
        reads differently (every second under a minute, at its minute otherwise), else the
        next wall-clock minute (the status bar clock, longer countdowns), or earlier when an
        SLA crossing or housekeeping is due; the next wall-clock second while a list or item
        screen with countdowns is in view.  Never sooner than the next second.  An idle
        dashboard wakes a few times a minute at most (benchmarks/idle.py)."""
        now = self.clock.now()
        to_second = 1.0 - now.microsecond / 1_000_000
        if self.clock.is_frozen or self._other_screen_counts_seconds():
            return to_second
        delay = 60.0 - now.second - now.microsecond / 1_000_000
        change = self._countdown_change_in(now)
        if change is not None:
            delay = min(delay, change)
        due = [self._next_visible_crossing(now)]
        if self.housekeeping and not self._housekeeping_busy:
            due += [self.next_sla_check, self.next_process_run, self.next_drift_check]
        for at in due:
            if at is not None:
                delay = min(delay, (at - now).total_seconds())
        return max(to_second, delay)  # never sooner than the next second

    def _sla_pane(self) -> Any:
        """The dashboard's SLA pane if the dashboard is in view and shows it, else None."""
        from .screens.main import MainScreen
        from .widgets.sla_pane import SlaPane

        if not self.main_in_view():
            return None
        screen = next(s for s in reversed(self.screen_stack) if isinstance(s, MainScreen))
        pane = getattr(screen, "sla_pane", None)  # kept by the screen: no DOM query a tick
        if not isinstance(pane, SlaPane) or not pane.is_mounted:
            pane = next(iter(screen.query(SlaPane)), None)
        if pane is None or not pane.display or not pane.items:
            return None
        if id(pane) not in self._watched_panes:  # scrolling can bring urgent rows into view
            self._watched_panes.add(id(pane))
            # (App.watch: ``self.watch`` is this app's live-sync switch)
            App.watch(self, pane, "scroll_y", lambda *_: self._schedule_tick(), init=False)
        return pane

    def _other_screen_counts_seconds(self) -> bool:
        """Is a list or item screen with countdowns in view (they tick every second)?"""
        from textual.screen import ModalScreen

        from .screens.main import MainScreen

        screen = next(
            (s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), None
        )
        return screen is not None and not isinstance(screen, MainScreen) and hasattr(screen, "tick")

    def _countdown_change_in(self, now: datetime) -> float | None:
        """Seconds until a countdown under an hour in the dashboard's SLA pane reads
        differently (every second under a minute, at its minute otherwise), or None."""
        pane = self._sla_pane()
        # the pane answers from its last comparison of the visible rows when it can
        return None if pane is None else pane.next_change_in(now)

    def _next_visible_crossing(self, now: datetime) -> datetime | None:
        """When the soonest countdown in the SLA pane reaches zero (a breach to announce)."""
        pane = self._sla_pane()
        return None if pane is None else pane.next_crossing(now)

    def _tick(self) -> None:
        """Countdowns and the clock of the screen in view (no database)."""
        from textual.screen import ModalScreen

        # the screen under any dialogs is the one the user sees
        screen = next(
            (s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), None
        )
        if self.housekeeping and not self._housekeeping_busy:
            now = self.clock.now()
            due = (self.next_sla_check, self.next_process_run, self.next_drift_check)
            if any(t is not None and t <= now for t in due):
                self._housekeeping_busy = True
                self._housekeeping()
        if screen is None or not screen.children:
            return  # a slow start: the first tick can come before the screen is composed
        if isinstance(screen, pane_screens()):
            breached = screen.tick()
            if breached:  # a countdown crossed zero: queue/owner counts change too
                self.request_delta(Delta(recount=True))
        elif screen is not None and hasattr(screen, "tick"):
            screen.tick()

    # --- housekeeping: SLA crossings and due processes ----------------------------------

    @work(thread=True, exclusive=True, group="schedule", exit_on_error=False)
    def _load_schedule(self) -> None:
        """When is the next SLA crossing or process run due?  Two index probes, run only at
        start and after changes, so an idle terminal does no reads for this."""
        from ..services.processes import run as processes
        from ..services.sla import crossings as sla

        next_check = sla.next_check_at(self.db)
        next_run = processes.next_run_at(self.db)
        self.call_from_thread(self._set_schedule, next_check, next_run)

    def _set_schedule(self, next_check: datetime | None, next_run: datetime | None) -> None:
        self.next_sla_check, self.next_process_run = next_check, next_run
        self._schedule_tick()

    @work(thread=True, exclusive=True, group="housekeeping", exit_on_error=False)
    def _housekeeping(self) -> None:
        """Write the SLA warning/breach events that are due (exactly once across every
        terminal), create due process occurrences (exactly once too) and, every
        DRIFT_EVERY, record items that started or stopped drifting (exactly once too)."""
        from ..services import drift
        from ..services.processes import run as processes
        from ..services.sla import crossings as sla

        try:
            sla.record_sla_crossings(self.db)
            created = processes.run_due(self.db)
            if created:
                self.call_from_thread(self._announce_runs, created)
            now = self.clock.now()
            if self.next_drift_check is not None and self.next_drift_check <= now:
                drift.record_drift(self.db, self.forecast_settings())
                self.next_drift_check = _next_boundary(now, DRIFT_EVERY)
            events = self._events_after_cursor()
        finally:
            self.call_from_thread(self._housekeeping_done)
        if events:
            self.call_from_thread(self.refresh_from_events, events)

    def _announce_runs(self, created: list[Any]) -> None:
        """Opening the dashboard never creates work quietly: say what and why (one notice)."""
        late = [r for r in created if r.late]
        if len(created) == 1:
            text = one_line(created[0].text)
        else:
            lines = [
                f"{r.item} {r.process}"
                + (f": due {r.occurrence_at:%Y-%m-%d %H:%M} UTC, LATE" if r.late else "")
                for r in created
            ]
            why = " (missed while nothing was running)" if late else ""
            text = f"created {len(created)} process items{why}:\n" + "\n".join(lines)
        self.notify(
            text,
            title="Process runs caught up late" if late else "Process run",
            severity="warning" if late else "information",
            markup=False,
            timeout=20 if late else 6,
        )

    def forecast_settings(self) -> Any:
        from ..services.forecast import Settings

        return Settings(
            focus=self.config.forecast_focus,
            remaining_floor_hours=self.config.remaining_floor_hours,
        )

    def _housekeeping_done(self) -> None:
        self._housekeeping_busy = False
        self._load_schedule()

    def _events_after_cursor(self) -> list[q.EventRecord]:
        with self.db.read() as conn:
            return q.events_after(conn, self.event_cursor)
