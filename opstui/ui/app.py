"""The opstui Textual app: one factory (:func:`make_app`) for the CLI and every test.

The application object holds the data flow (first load, the change feed, deltas, the
panes' worker), navigation and compact mode; the item actions (``ui/actions.py``), who I am
and presence (``ui/me.py``) and the tick with housekeeping (``ui/ticking.py``) are mixins.

Data flow: every database read or write runs in a thread worker that posts an immutable
snapshot back as a message; widgets render on the main thread.  The event table's id is
the cursor: after a write (ours or another terminal's) the app reads the events after its
cursor and refreshes only the panes and rows they touch.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from ..config import Config
from ..domain.clock import Clock
from ..domain.figures import DEFAULT_ESTIMATE_HOURS
from ..errors import OpsError
from ..store import queries as q
from ..store.engine import Database
from ..sync.delta import Delta, PaneModel, PaneSnapshot
from ..sync.pane_loader import PaneLoader
from .actions import ItemActionsMixin
from .commands import OpsCommands
from .me import MeMixin
from .messages import (
    PANES,
    DataChange,
    PaneData,
    PanesFailed,
    PanesLoaded,
)
from .text import clean
from .ticking import TickMixin, pane_screens


def _default_estimate() -> float:
    return float(DEFAULT_ESTIMATE_HOURS)


class OpsApp(MeMixin, TickMixin, ItemActionsMixin, App[None]):
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
        #: pane loader's thread touches it (sync.pane_loader).
        self.pane_model = PaneModel(_default_estimate())
        self.pane_loader: PaneLoader | None = None
        self.force_compact = bool(config.compact)
        self.compact = self.force_compact
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
        if self.pane_loader is None:  # one long-lived thread, not a worker per change
            self.pane_loader = PaneLoader(
                self.db,
                self.pane_model,
                self.clock.now,
                self._panes_applied,
                lambda error: self.post_message(PanesFailed(error)),
            )
        self.pane_loader.request(delta)

    def request_panes(self, names: set[str] | frozenset[str]) -> None:
        """Reload the panes from the database (everything: the panes share one model)."""
        if names:
            self.request_delta(Delta.full("reload asked for"))

    def resume_panes(self) -> None:
        """The dashboard is back in view: draw what changed while it was hidden, once."""
        stale, self._panes_stale = self._panes_stale, set()
        if stale and self.pane_data is not None:
            self._show_panes(self.pane_data, stale)

    def _panes_applied(self, snap: PaneSnapshot) -> None:
        """On the pane loader's thread: hand the new data to the app."""
        self.post_message(
            PanesLoaded(
                PaneData(
                    snap.queues,
                    snap.owners,
                    snap.sla,
                    snap.now,
                    snap.cursor,
                    snap.reloaded,
                    snap.due_moved,
                )
            )
        )

    def on_panes_failed(self, message: PanesFailed) -> None:
        self.report_error(message.error)

    def on_unmount(self) -> None:
        if self.pane_loader is not None:
            self.pane_loader.close(timeout=1.0)

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
            self.outbox_worker.changed(new)  # a change may have written deliveries
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
        if event.state == WorkerState.ERROR:
            self.report_worker_error(event.worker)

    def report_worker_error(self, worker: Worker[Any]) -> None:
        self.report_error(worker.error)

    def report_error(self, error: BaseException | None) -> None:
        if isinstance(error, OpsError):
            text = str(error)
        else:
            text = f"internal error: {type(error).__name__}: {error}"
        self.notify(clean(text), severity="error", timeout=8, markup=False)

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
