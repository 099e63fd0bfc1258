"""The opstui Textual app: one factory (:func:`make_app`) for the CLI and every test.

Data flow: every database read or write runs in a thread worker that posts an immutable
snapshot back as a message; widgets render on the main thread.  The event table's id is
the cursor: after a write (ours or another terminal's) the app reads the events after its
cursor and refreshes only the panes and rows they touch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState, get_current_worker

from ..config import Config
from ..domain.actions import describe_action
from ..domain.clock import Clock
from ..domain.text import one_line
from ..errors import Conflict, NotFound, OpsError
from ..services.capacity import DEFAULT_ESTIMATE_HOURS
from ..store import panes as pane_q
from ..store import queries as q
from ..store.engine import Database
from ..sync.delta import Delta, PaneModel
from .commands import OpsCommands
from .messages import (
    PANES,
    ActionDone,
    ActionFailed,
    DataChange,
    PaneData,
    PanesLoaded,
    Prepared,
)
from .text import clean

#: How often an open terminal asks the forecast which items started or stopped drifting.
DRIFT_EVERY = timedelta(minutes=5)


def _next_boundary(now: datetime, every: timedelta) -> datetime:
    """The next multiple of ``every`` after ``now`` on the wall clock (terminals that look
    at the same moments find the work already done by the first)."""
    step = every.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step + 1) * step, tz=now.tzinfo)


def _default_estimate() -> float:
    return float(DEFAULT_ESTIMATE_HOURS)


class OpsApp(App[None]):
    """Live queues, owners, SLA countdowns and capacity on one shared database."""

    CSS_PATH = "app.tcss"
    TITLE = "opstui"
    COMMANDS = App.COMMANDS | {OpsCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("W", "wall", "Wall view", show=False),
    ]

    def __init__(
        self,
        db: Database,
        config: Config,
        *,
        clock: Clock | None = None,
        watch: bool = True,
        poll: bool = False,
        config_error: str | None = None,
        housekeeping: bool | None = None,
        persist_theme: bool = True,
        review: bool = False,
        review_week: date | str | None = None,
        view: str = "dashboard",
        read_only_note: str | None = None,
    ) -> None:
        super().__init__()
        #: Open the weekly review over the dashboard at start, and quit when it closes
        #: (``opstui review``).
        self.start_review = review
        self.review_week = review_week
        #: What the app opens on: "dashboard", "review" or "wall".
        self.view = view
        #: Why nothing can be changed, when the database is read-only (a browser tab says so).
        self.read_only_note = read_only_note
        self.db = db
        self.config = config
        self.clock = clock or db.clock
        self.watch = watch
        self.poll = poll
        self.config_error = config_error
        #: Last event id applied to the view (set at first load).
        self.event_cursor: int = 0
        #: The live-sync feed while it runs, and how it detects changes (for the status bar).
        self.live_feed: Any = None
        self.sync_mode: str = "starting" if watch else "off"
        self.loaded = False
        self.pane_data: PaneData | None = None
        #: The open items behind the panes, kept current by deltas (sync.delta); only the
        #: exclusive "panes" worker touches it.
        self.pane_model = PaneModel(_default_estimate())
        self.force_compact = bool(config.compact)
        self.compact = self.force_compact
        self._panes_loading = False
        #: Changes that arrived while a load or delta was running (applied next, as one).
        self._panes_pending: Delta | None = None
        #: Pane data that changed while the dashboard was hidden (drawn once when shown).
        self._panes_stale: set[str] = set()
        self.default_estimate = _default_estimate()
        #: Record SLA crossings and run due processes from this terminal (real time only:
        #: a what-if ``--now`` view or a read-only database never writes history).
        self.housekeeping = (
            (self.clock.is_real and not db.readonly) if housekeeping is None else housekeeping
        )
        self.persist_theme = persist_theme
        #: When the next SLA crossing / scheduled process is due (from the last schedule load;
        #: the per-second tick compares against these, it never queries).
        self.next_sla_check: datetime | None = None
        self.next_process_run: datetime | None = None
        #: When this terminal next asks the forecast which items started or stopped drifting.
        self.next_drift_check: datetime | None = None
        self._housekeeping_busy = False
        self._tick_timer: Any = None
        #: Why the terminal went away (set by ui/driver.py), or None while it is there.
        self.terminal_gone: str | None = None
        self._watched_panes: set[int] = set()
        #: The outbox worker (ui/outbox.py) and the failing deliveries it last saw.
        self.outbox_worker: Any = None
        self.outbox_summary: Any = None

    # --- theme -------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """App colours (sla-*, load-*, flag-*) derived from the current theme's own
        semantic colours; opstui's theme files set them explicitly."""
        from .themes import variable_defaults

        return variable_defaults(self.current_theme)

    def get_system_commands(self, screen: Any) -> Any:
        """Textual's system commands, less the ones opstui has as keys (one entry each)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit",):
                yield command

    def colours(self) -> dict[str, str]:
        """The app's own theme colours (load-*, flag-*, sla-*) for Text built in Python."""
        variables = getattr(self, "theme_variables", {}) or {}
        return {k: v for k, v in variables.items() if k.startswith(("load-", "flag-", "sla-"))}

    # --- lifecycle ---------------------------------------------------------------------

    def get_driver_class(self) -> Any:
        """Textual's choice, except that a real Linux/macOS terminal gets :class:`OpsDriver`,
        which exits when the terminal goes away instead of spinning (ui/driver.py)."""
        driver = super().get_driver_class()
        if (driver.__module__, driver.__name__) == ("textual.drivers.linux_driver", "LinuxDriver"):
            from .driver import OpsDriver

            return OpsDriver
        return driver

    def get_default_screen(self) -> Any:
        if self.view == "wall":
            from .screens.wall import WallScreen

            return WallScreen()
        from .screens.main import MainScreen

        return MainScreen()

    def on_mount(self) -> None:
        from .themes import install

        # built-in and user themes, the chosen one applied, problems in one notification,
        # palette choices remembered in the state file
        self.theme_install = install(self, self.config, persist=self.persist_theme)
        self.title = f"opstui · {clean(self.db.name)}"
        if self.db.readonly:
            self.sub_title = "read-only"
        if self.config_error:
            self.notify(
                f"config: {clean(self.config_error)} (using defaults)",
                severity="warning",
                markup=False,
            )
        self.request_delta(Delta.full("first load"))
        self._resolve_me()
        self._start_presence()
        self._schedule_tick()
        if self.start_review:
            self.open_review(self.review_week, exit_on_close=True)
        elif self.view == "review":
            self.open_review()
        # The watcher and the housekeeping schedule start once the first panes are on
        # screen (see on_panes_loaded): they would only compete with the first paint.

    #: My person handle (config ``me`` or my Unix login), once resolved; None if I am
    #: nobody in this database.
    my_handle: str | None = None

    @work(thread=True, exclusive=True, group="me", exit_on_error=False)
    def _resolve_me(self) -> None:
        from ..store.queries import PERSON

        with self.db.read() as conn:
            pid = q.person_id_for_login(conn, self.db.unix_user, self.config.me or self.db.me)
            handle = (
                conn.execute(PERSON.select().where(PERSON.c.id == pid)).first()
                if pid is not None
                else None
            )
        self.call_from_thread(self._set_me, handle.handle if handle is not None else None)

    def _set_me(self, handle: str | None) -> None:
        from .widgets.status import StatusBar

        self.my_handle = handle
        if self.presence is not None and handle:
            self.presence.who = handle
        for bar in self.screen.query(StatusBar):
            bar.refresh()

    # --- presence: who else has an item open ---------------------------------------------

    #: This terminal's presence (None until mounted, or when presence is off).
    presence: Any = None
    #: Others with an item open: key -> viewers (from the last look).
    viewers: dict[str, Any] = {}
    #: Seconds between looks while a screen that shows presence is in view.
    presence_interval = 2.0

    def _start_presence(self) -> None:
        if not self.watch:
            return  # tests and what-if views start it themselves (start_presence)
        self.start_presence()

    def start_presence(self) -> None:
        import threading

        from ..sync.presence import Presence

        self.presence = Presence(self.db.path, self.config.me or self.db.unix_user)
        self._presence_stop = threading.Event()
        # a plain daemon thread, not a worker: it runs for the app's life and must not
        # hold up "wait for the workers" nor the exit
        threading.Thread(target=self._presence_loop, name="presence", daemon=True).start()

    def presence_set(self, key: str | None, activity: str = "viewing") -> None:
        if self.presence is not None:
            self.presence.set(key, activity)

    def _presence_wanted(self) -> bool:
        screen = self.screen_stack[-1] if self.screen_stack else None
        under = next(
            (s for s in reversed(self.screen_stack) if hasattr(s, "presence_changed")), None
        )
        return screen is not None and under is not None

    def _presence_loop(self) -> None:
        """Look at the presence directory every 2 s while a screen that shows it is
        up; tell the screens only when something changed.  Nothing is written here."""
        from ..sync.presence import by_key

        last: dict[str, Any] | None = None
        while not self._presence_stop.wait(self.presence_interval):
            try:
                if self.presence is not None and self._presence_wanted():
                    now = by_key(self.presence.others())
                    if now != last:
                        last = now
                        self.call_from_thread(self._presence_changed, now)
                else:
                    last = None
            except RuntimeError:
                return  # the app has stopped

    def _presence_changed(self, viewers: dict[str, Any]) -> None:
        self.viewers = viewers
        for screen in self.screen_stack:
            hook = getattr(screen, "presence_changed", None)
            if hook is not None:
                hook(viewers)

    def _stop_presence(self) -> None:
        if self.presence is not None:
            self._presence_stop.set()
            self.presence.close()

    async def action_quit(self) -> None:
        self._stop_presence()
        await super().action_quit()

    def on_unmount(self) -> None:
        self._stop_presence()

    def action_my_work(self) -> None:
        self.open_my_work()

    def action_views(self) -> None:
        from .commands import views_picker

        views_picker(self)

    def open_my_work(self) -> None:
        """My open items, most urgent first."""
        if self.my_handle is None:
            who = self.config.me or self.db.unix_user
            self.notify(
                f'no person here is {who!r}: set me = "handle" in the config file',
                severity="warning",
                markup=False,
            )
            return
        from .screens.items import ItemListScreen

        self.push_screen(
            ItemListScreen(
                q.ItemFilter(owner=self.my_handle, open_only=True),
                sort="urgency",
                title=f"my work ({self.my_handle})",
            )
        )

    def _after_first_paint(self) -> None:
        if self.housekeeping:
            self.next_drift_check = self.clock.now()
            self._load_schedule()
        if self.watch:
            self.start_sync()
        if self.watch:  # a live dashboard: the change feed nudges the outbox worker
            from .outbox import OutboxWorker

            # sends only where housekeeping runs (real time, writable); shows failures anywhere
            self.outbox_worker = OutboxWorker(self, send=self.housekeeping)
            self.outbox_worker.start()

    def show_outbox(self, summary: Any) -> None:
        from .widgets.status import StatusBar

        self.outbox_summary = summary
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                bar.refresh()

    def start_sync(self) -> None:
        """Follow other terminals' changes: one exclusive async worker runs the watcher
        (opstui.sync.live) and calls :meth:`refresh_from_events` on the main thread."""
        self._sync_worker()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def _sync_worker(self) -> None:
        import asyncio

        from ..sync.live import LiveFeed

        while not self.loaded:  # start from the cursor of the first load
            await asyncio.sleep(0.05)
        feed = await asyncio.to_thread(
            LiveFeed,
            self.db,
            self.event_cursor,
            poll_interval=self.config.poll_interval,
            force_poll=self.poll,
            on_mode=self._show_sync_mode,
        )
        self.live_feed = feed
        self._show_sync_mode(feed.mode)
        try:
            async for update in feed.updates():
                self.refresh_from_events(update.events)
                for n in update.notices:
                    self.notify(
                        clean(n.message), title=clean(n.title), severity=n.severity, markup=False
                    )
                if update.notices and self.config.bell:
                    self.bell()
        finally:
            self.live_feed = None
            feed.close()

    def _show_sync_mode(self, mode: str) -> None:
        """How changes are detected ("watching" or "polling (reason)"), for the status bar."""
        self.sync_mode = mode
        if mode != "watching":
            self.notify(f"live updates: {mode}", severity="warning", timeout=6, markup=False)
        from .widgets.status import StatusBar

        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                bar.refresh()

    # --- the clock tick: as often as the screen in view needs, no more ------------------

    def _schedule_tick(self) -> None:
        """(Re)arm the one tick timer for :meth:`tick_delay` from now."""
        if self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer = None
        if self._exit or self._closing:  # exiting (e.g. the terminal went away): no more ticks
            return
        self._tick_timer = self.set_timer(self.tick_delay(), self._on_tick_timer, name="tick")

    def _on_tick_timer(self) -> None:
        self._tick_timer = None
        try:
            self._tick()
        finally:
            self._schedule_tick()

    def tick_delay(self) -> float:
        """Seconds to the next tick: the next wall-clock second while a countdown under an
        hour is on screen (or a list or item screen with countdowns is in view), else the
        next wall-clock minute (the status bar clock, longer countdowns), or earlier when an
        SLA crossing or housekeeping is due.  An idle dashboard without urgent countdowns
        wakes once a minute (benchmarks/idle.py)."""
        now = self.clock.now()
        to_second = 1.0 - now.microsecond / 1_000_000
        if self.clock.is_frozen or self._countdowns_need_seconds(now):
            return to_second
        delay = 60.0 - now.second - now.microsecond / 1_000_000
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
        from .widgets.panes import SlaPane

        if not self.main_in_view():
            return None
        screen = next(s for s in reversed(self.screen_stack) if isinstance(s, MainScreen))
        pane = next(iter(screen.query(SlaPane)), None)
        if pane is None or not pane.display or not pane.items:
            return None
        if id(pane) not in self._watched_panes:  # scrolling can bring urgent rows into view
            self._watched_panes.add(id(pane))
            # (App.watch: ``self.watch`` is this app's live-sync switch)
            App.watch(self, pane, "scroll_y", lambda *_: self._schedule_tick(), init=False)
        return pane

    def _countdowns_need_seconds(self, now: datetime) -> bool:
        from textual.screen import ModalScreen

        from .screens.main import MainScreen

        screen = next(
            (s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), None
        )
        if screen is not None and not isinstance(screen, MainScreen):
            return hasattr(screen, "tick")  # item lists and details: their own countdowns
        pane = self._sla_pane()
        if pane is None:
            return False
        from ..domain.targets import nearest

        top = round(pane.scroll_y)
        height = max(1, pane.scrollable_content_region.height)
        for row in pane.items[top : top + height]:
            t = nearest(row, now)
            if t is not None and t.state != "paused" and abs(t.left.total_seconds()) < 3600:
                return True
        return False

    def _next_visible_crossing(self, now: datetime) -> datetime | None:
        """When the soonest countdown in the SLA pane reaches zero (a breach to announce)."""
        pane = self._sla_pane()
        if pane is None:
            return None
        from ..domain.targets import nearest

        soonest: datetime | None = None
        for row in pane.items:
            t = nearest(row, now)
            if t is not None and t.state not in ("paused", "breached"):
                due = now + t.left
                soonest = due if soonest is None else min(soonest, due)
        return soonest

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

    # --- compact mode ------------------------------------------------------------------

    def on_resize(self, event: Any) -> None:
        self.update_compact(event.size.width)
        self.call_after_refresh(self._schedule_tick)  # more or fewer SLA rows in view

    def update_compact(self, width: int | None = None) -> None:
        """Compact below ``compact_below`` columns, from the size the terminal has now
        (the resize event's, not the size before it)."""
        width = self.size.width if width is None else width
        compact = self.force_compact or width < self.config.compact_below
        if compact != self.compact:
            self.compact = compact
        for screen in self.screen_stack:
            screen.set_class(self.compact, "-compact")

    def action_toggle_compact(self) -> None:
        self.force_compact = not self.force_compact
        self.update_compact()
        self.notify("compact layout on" if self.compact else "compact layout off", timeout=2)

    # --- loading panes -----------------------------------------------------------------

    def main_in_view(self) -> bool:
        """Is the dashboard the screen the user sees (possibly under a dialog)?"""
        from textual.screen import ModalScreen

        for screen in reversed(self.screen_stack):
            if not isinstance(screen, ModalScreen):
                return isinstance(screen, pane_screens())
        return False

    def request_delta(self, delta: Delta) -> None:
        """Bring the pane data up to date with ``delta`` (a full reload if it says so or
        cannot be applied).  A load never overlaps itself: deltas arriving meanwhile are
        merged and applied next, as one.  Data is kept current whether or not the
        dashboard is in view; it is drawn when it is (:meth:`resume_panes`)."""
        if delta.empty:
            return
        pending = self._panes_pending
        self._panes_pending = delta if pending is None else pending.merge(delta)
        if not self._panes_loading:
            delta, self._panes_pending = self._panes_pending, None
            self._panes_loading = True
            self._load_panes(delta)

    def request_panes(self, names: set[str] | frozenset[str]) -> None:
        """Reload the panes from the database (everything: the panes share one model)."""
        if names:
            self.request_delta(Delta.full("reload asked for"))

    def resume_panes(self) -> None:
        """The dashboard is back in view: draw what changed while it was hidden, once."""
        stale, self._panes_stale = self._panes_stale, set()
        if stale and self.pane_data is not None:
            self._show_panes(self.pane_data, stale)

    @work(thread=True, exclusive=True, group="panes", exit_on_error=False)
    def _load_panes(self, delta: Delta) -> None:
        worker = get_current_worker()
        now = self.clock.now()
        with self.db.read() as conn:
            snap = self.pane_model.apply(conn, delta, now)
        if not worker.is_cancelled:
            self.post_message(
                PanesLoaded(
                    PaneData(
                        snap.queues,
                        snap.owners,
                        snap.sla,
                        now,
                        snap.cursor,
                        snap.reloaded,
                        snap.due_moved,
                    )
                )
            )

    def on_panes_loaded(self, message: PanesLoaded) -> None:
        data = message.data
        old = self.pane_data
        if data.cursor is not None and not self.loaded:
            self.event_cursor = max(self.event_cursor, data.cursor)
        if not self.loaded:
            self.call_after_refresh(self._after_first_paint)
        elif data.due_moved and self.housekeeping:
            self._load_schedule()  # the next SLA crossing may have moved
        self.loaded = True
        self.pane_data = PaneData(
            queues=data.queues if data.queues is not None else (old.queues if old else ()),
            owners=data.owners if data.owners is not None else (old.owners if old else ()),
            sla=data.sla if data.sla is not None else (old.sla if old else ()),
            loaded_at=data.loaded_at,
            cursor=self.event_cursor,
        )
        changed = {name for name in PANES if getattr(data, name) is not None}
        if self.main_in_view():
            self._show_panes(self.pane_data, changed)
        else:
            self._panes_stale |= changed

    def _show_panes(self, data: PaneData, changed: set[str]) -> None:
        shown = PaneData(
            queues=data.queues if "queues" in changed else None,
            owners=data.owners if "owners" in changed else None,
            sla=data.sla if "sla" in changed else None,
            loaded_at=data.loaded_at,
        )
        for screen in self.screen_stack:
            if isinstance(screen, pane_screens()):
                screen.show(data, shown)
        self.call_after_refresh(self._schedule_tick)  # new rows may need second ticks
        if (data.queues or data.owners) is not None and not isinstance(self.screen, pane_screens()):
            from .widgets.status import StatusBar

            for bar in self.screen.query(StatusBar):
                bar.refresh()  # the header's counts on the list or detail screen

    # --- the change feed ---------------------------------------------------------------

    def refresh_from_events(self, events: list[q.EventRecord]) -> None:
        """Apply events after the cursor as a delta: the changed items are re-read and only
        the pane lines they change are redrawn.  Idempotent."""
        after = self.event_cursor
        new = [e for e in events if e.id > after]
        if not new:
            return
        self.event_cursor = max(e.id for e in new)
        if self.outbox_worker is not None:
            self.outbox_worker.nudge()  # a change may have written deliveries
        if self.live_feed is not None:  # the watcher skips what this terminal applied itself
            self.live_feed.applied(self.event_cursor)
        if not self.loaded:
            return  # the first load is still running and will show these changes
        delta = Delta.from_events(new, after)
        item_ids: set[int] = set()
        created = people = queues = everything = False
        for e in new:
            if e.item_id is not None:
                item_ids.add(e.item_id)
                created = created or e.field == "created"
            elif e.entity == "person":
                people = True
            elif e.entity == "queue":
                queues = True
            elif e.entity in ("load", "workflow"):
                everything = True
        self.request_delta(delta)
        if self.housekeeping and any(e.item_id is None for e in new):
            self._load_schedule()  # a process or policy changed (items: on_panes_loaded)
        change = DataChange(frozenset(item_ids), created, people, queues, everything)
        for screen in self.screen_stack:
            hook = getattr(screen, "data_changed", None)
            if hook is not None:
                hook(change)

    def action_reload(self) -> None:
        self.request_delta(Delta.full("reload asked for"))
        for screen in self.screen_stack:
            hook = getattr(screen, "data_changed", None)
            if hook is not None:
                hook(DataChange(everything=True))

    # --- errors (the one place) --------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "panes" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._panes_loading = False
            pending, self._panes_pending = self._panes_pending, None
            if event.state == WorkerState.ERROR:
                # the model may be half-updated: the next change reloads it whole
                self.pane_model.loaded = False
            if pending is not None and event.state != WorkerState.ERROR:
                self.request_delta(pending)
        if event.state == WorkerState.ERROR:
            self.report_worker_error(event.worker)

    def report_worker_error(self, worker: Worker[Any]) -> None:
        error = worker.error
        if isinstance(error, OpsError):
            text = str(error)
        else:
            text = f"internal error: {type(error).__name__}: {error}"
        self.notify(clean(text), severity="error", timeout=8, markup=False)

    # --- item actions ------------------------------------------------------------------

    def refuse_if_readonly(self) -> bool:
        """The one gate for writes from this app: refused with a notification when the
        database is open read-only (a browser tab of a server without --allow-edit)."""
        if self.db.readonly:
            self.notify(
                self.read_only_note
                or "the database is open read-only: nothing can be changed here",
                severity="warning",
                markup=False,
            )
            return True
        return False

    def item_action(
        self, kind: str, key: str | None, *, context: dict[str, Any] | None = None
    ) -> None:
        """Start an action on an item: load fresh data, then open its form."""
        if self.refuse_if_readonly():
            return
        if kind != "new" and not key:
            self.notify("select an item first", severity="warning", timeout=3)
            return
        self._prepare(kind, key, dict(context or {}))

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def _prepare(self, kind: str, key: str | None, context: dict[str, Any]) -> None:
        now = self.clock.now()
        extra: dict[str, Any] = dict(context)
        with self.db.read() as conn:
            item = q.get_item(conn, key) if key else None
            if key and item is None:
                raise NotFound(f"no item {key!r} (deleted elsewhere?)")
            if kind in ("assign", "new"):
                extra["people"] = tuple(
                    pane_q.owner_stats(
                        conn, now, now.date(), default_estimate=self.default_estimate
                    )
                )
            if kind == "assign":
                from ..store.picks import pick_context

                extra["pick"] = pick_context(conn)
            if kind == "move" and item is not None:
                extra["transitions"] = tuple(q.next_states_for_item(conn, item.key))
            if kind in ("new", "transfer"):
                extra["queues"] = tuple(q.list_queues(conn))
        self.post_message(Prepared(kind, item, extra))

    def on_prepared(self, message: Prepared) -> None:
        from .screens import forms

        item, extra, kind = message.item, message.extra, message.kind
        if kind == "new":
            self.push_screen(
                forms.NewItemForm(extra["queues"], extra["people"], extra.get("queue")),
                self._submit_new,
            )
            return
        assert item is not None
        if kind == "assign":
            self.push_screen(
                forms.assign_picker(item, extra["people"], extra.get("pick"), self.colours()),
                lambda handle: self._submit_assign(item, handle),
            )
        elif kind == "move":
            transitions = extra.get("transitions", ())
            if not transitions:
                self.notify(
                    f"{clean(item.key)} has no next state from {clean(item.status)!r}",
                    severity="warning",
                    markup=False,
                )
                return
            self.push_screen(
                forms.state_picker(item, transitions),
                lambda state: self._submit_move(item, state),
            )
        elif kind == "transfer":
            from .screens.transfer import TransferForm

            self.push_screen(
                TransferForm(item, extra["queues"]),
                lambda slug: self._submit_transfer(item, slug),
            )
        elif kind == "comment":
            self.presence_set(item.key, "editing a comment")

            def commented(text: str | None) -> None:
                self.presence_set(None)
                for screen in self.screen_stack:  # back to viewing, if the item is open
                    hook = getattr(screen, "announce_presence", None)
                    if hook is not None:
                        hook()
                self._submit_comment(item, text)

            self.push_screen(forms.CommentForm(item), commented)
        elif kind == "priority":
            self.push_screen(
                forms.PriorityForm(item), lambda v: self._submit_edit(item, v, "priority")
            )
        elif kind == "edit":
            self.push_screen(forms.EditForm(item), lambda v: self._submit_edit(item, v, "edit"))
        elif kind == "log":
            self.push_screen(forms.LogTimeForm(item), lambda v: self._submit_log(item, v))

    def _submit_new(self, fields: dict[str, Any] | None) -> None:
        if not fields:
            return
        from ..services import items

        self.write(
            lambda db: items.create_item(db, **fields),
            lambda item: f"created {item.key}",
        )

    def _submit_assign(self, item: q.ItemRecord, handle: str | None) -> None:
        if handle is None:
            return
        from ..services import items

        target = handle or None
        self.write(
            lambda db: items.assign(db, item.key, target, expected_version=item.version),
            lambda it: (
                f"{it.key} assigned to {it.owner}" if it.owner else f"{it.key} is now unowned"
            ),
            key=item.key,
        )

    def _submit_move(self, item: q.ItemRecord, state: str | None) -> None:
        if not state:
            return
        from ..services import transitions

        def done(result: Any) -> str:
            moved, actions = result
            text = f"{moved.key} moved to {moved.status}"
            if moved.status != state:
                text = f"{moved.key}: {state} is waiting for an approval"
            extra = [describe_action(a) for a in actions if a]
            return "; ".join([text, *extra])

        self.write(
            lambda db: transitions.transition(db, item.key, state, expected_version=item.version),
            done,
            key=item.key,
        )

    def _submit_transfer(self, item: q.ItemRecord, slug: str | None) -> None:
        if not slug:
            return
        from ..services import items

        self.write(
            lambda db: items.transfer(db, item.key, slug, expected_version=item.version),
            lambda it: f"{it.key} transferred to {it.queue} ({it.status})",
            key=item.key,
        )

    def _submit_comment(self, item: q.ItemRecord, text: str | None) -> None:
        if not text:
            return
        from ..services import items

        self.write(
            lambda db: items.comment(db, item.key, text),
            lambda it: f"commented on {it.key}",
            key=item.key,
        )

    def _submit_log(self, item: q.ItemRecord, value: tuple[int, str] | None) -> None:
        if not value:
            return
        from ..domain.sla import format_remaining
        from ..services import worklog

        seconds, note = value

        def said(done: Any) -> str:
            left = format_remaining(done.remaining_hours * 3600)
            over = ", over estimate" if done.over_estimate else ""
            return f"logged {format_remaining(done.seconds)} on {done.key} ({left} left{over})"

        self.write(
            lambda db: worklog.log_time(db, item.key, seconds, note=note), said, key=item.key
        )

    def _submit_edit(self, item: q.ItemRecord, fields: dict[str, Any] | None, what: str) -> None:
        if not fields:
            return
        from ..services import items

        self.write(
            lambda db: items.edit_item(db, item.key, expected_version=item.version, **fields),
            lambda it: (
                f"{it.key} saved" if it.version != item.version else f"{it.key}: nothing changed"
            ),
            key=item.key,
        )

    def write(
        self,
        fn: Callable[[Database], Any],
        describe: Callable[[Any], str],
        *,
        key: str | None = None,
    ) -> None:
        if self.refuse_if_readonly():
            return
        self._write(fn, describe, key)

    @work(thread=True, group="write", exit_on_error=False)
    def _write(
        self, fn: Callable[[Database], Any], describe: Callable[[Any], str], key: str | None
    ) -> None:
        cursor = self.event_cursor
        try:
            result = fn(self.db)
        except Conflict as exc:
            with self.db.read() as conn:
                events = q.events_after(conn, cursor, 5000)
            self.post_message(ActionFailed(str(exc), conflict_key=exc.key or key, events=events))
            return
        except OpsError as exc:
            self.post_message(ActionFailed(str(exc)))
            return
        # Apply our own change now: the writing terminal never waits for the watcher.
        with self.db.read() as conn:
            events = q.events_after(conn, cursor, 5000)
        self.post_message(ActionDone(describe(result), events, key))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(clean(message.text), timeout=4, markup=False)
        self.refresh_from_events(message.events)

    def on_action_failed(self, message: ActionFailed) -> None:
        severity = "warning" if message.conflict_key else "error"
        self.notify(clean(message.text), severity=severity, timeout=10, markup=False)
        self.refresh_from_events(message.events)
        if message.conflict_key:  # reload what the user is looking at
            for screen in self.screen_stack:
                hook = getattr(screen, "reload", None)
                if hook is not None:
                    hook()

    # --- navigation --------------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def open_items(
        self, flt: q.ItemFilter, *, focus_key: str | None = None, search: bool = False
    ) -> None:
        from .screens.items import ItemListScreen

        self.push_screen(ItemListScreen(flt, focus_key=focus_key, search=search))

    def open_processes(self) -> None:
        """The process catalog (its own screen, written by the automation work)."""
        from .screens.processes import ProcessCatalogScreen

        self.push_screen(ProcessCatalogScreen(self.db))

    def open_review(self, week: date | str | None = None, *, exit_on_close: bool = False) -> None:
        """The weekly review (``w``; ``opstui review`` opens it at start and quits with it)."""
        from .screens.review import ReviewScreen

        screen = ReviewScreen(week=week, stuck_days=self.config.stuck_days)
        self.push_screen(screen, (lambda _result: self.exit()) if exit_on_close else None)

    def action_wall(self) -> None:
        """The wall view over the dashboard (escape comes back)."""
        from .screens.wall import WallScreen

        if not isinstance(self.screen, WallScreen):
            self.push_screen(WallScreen())

    def open_item(self, key: str) -> None:
        from .screens.detail import ItemDetailScreen

        self.push_screen(ItemDetailScreen(key))

    def push_screen(self, screen: Any, callback: Any = None, wait_for_dismiss: bool = False) -> Any:  # type: ignore[override]
        if hasattr(screen, "set_class"):
            screen.set_class(self.compact, "-compact")
        self.call_after_refresh(self._schedule_tick)  # the new screen's countdowns
        return super().push_screen(screen, callback, wait_for_dismiss=wait_for_dismiss)

    def pop_screen(self) -> Any:
        self.call_after_refresh(self._schedule_tick)  # the screen underneath's countdowns
        return super().pop_screen()

    def switch_screen(self, screen: Any) -> Any:
        self.call_after_refresh(self._schedule_tick)
        return super().switch_screen(screen)


def pane_screens() -> tuple[type, ...]:
    """Screens that show the dashboard panes' data (they get ``show`` and ``tick``)."""
    from .screens.main import MainScreen
    from .screens.wall import WallScreen

    return (MainScreen, WallScreen)


def make_app(
    db: Database,
    config: Config,
    *,
    clock: Clock | None = None,
    watch: bool = True,
    poll: bool = False,
    config_error: str | None = None,
    housekeeping: bool | None = None,
    persist_theme: bool = True,
    review: bool = False,
    review_week: date | str | None = None,
    view: str = "dashboard",
    read_only_note: str | None = None,
) -> OpsApp:
    """The one app factory (CLI and tests).

    ``watch`` follows other terminals' changes; ``housekeeping`` records SLA crossings and
    runs due processes (default: only on a real clock and a writable database); ``review``
    opens the weekly review (of ``review_week``) at start and quits when it is left.
    """
    return OpsApp(
        db,
        config,
        clock=clock,
        watch=watch,
        poll=poll,
        config_error=config_error,
        housekeeping=housekeeping,
        persist_theme=persist_theme,
        review=review,
        review_week=review_week,
        view=view,
        read_only_note=read_only_note,
    )


def run_app(
    db: Database,
    config: Config,
    poll: bool = False,
    config_error: str | None = None,
    *,
    review: bool = False,
    review_week: date | str | None = None,
    view: str = "dashboard",
    read_only_note: str | None = None,
    persist_theme: bool = True,
) -> None:
    """Open the dashboard in this terminal (called by ``opstui`` and ``opstui demo``), or
    the weekly review over it (``opstui review``)."""
    app = make_app(
        db,
        config,
        poll=poll,
        config_error=config_error,
        review=review,
        review_week=review_week,
        view=view,
        read_only_note=read_only_note,
        persist_theme=persist_theme,
    )
    try:
        app.run()
    except OSError:
        # The terminal went away while the app was starting: Textual's report of what that
        # interrupted cannot be printed anywhere (EIO).  Committed work is in the database.
        if app.terminal_gone is None:
            raise
    finally:
        app._stop_presence()  # no "is viewing" left behind
        db.dispose()
    if app.terminal_gone is not None:
        from .driver import TERMINAL_GONE_STATUS

        raise SystemExit(TERMINAL_GONE_STATUS)
    if app.return_code:
        raise SystemExit(app.return_code)
