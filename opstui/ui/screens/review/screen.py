"""The weekly review screen: a working agenda for one 30-minute meeting.

Sections are tabs (keys 1-8) in meeting order, one widget each (:mod:`.tabs`).  Everything
shown comes from one immutable :class:`~opstui.services.review.WeeklyReview` snapshot
loaded by a thread worker and handed down with ``show``.  The screen has no poll of its
own: the app's change feed calls :meth:`ReviewScreen.data_changed` like every screen's,
and the review reloads (a load never overlaps itself; while hidden it only marks itself
stale).  What the screen does (approvals, moves, minutes, export, recording) is in
:mod:`.actions`.  On every tab whose rows are items, Enter opens the item and ``a``,
``m``, ``T``, ``c`` assign, move, transfer or comment on it through the app's one item
action path; rows marked with space, shift+arrows or ``*`` (as in the item list) take
the same keys in bulk (:mod:`..bulk`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState, get_current_worker

from ....domain.text import one_line
from ....errors import OpsError
from ....services import review as review_svc
from ....store import queries as q
from ....store.engine import Database
from ...messages import DataChange
from ...widgets.keybar import KeyBar
from ..base import ItemActions
from ..bulk import BULK_KINDS, start_bulk
from .actions import Decision, ReviewActions
from .load import LoadTab
from .parts import Palette
from .tabs import (
    AgendaTab,
    ApprovalsTab,
    BlockedTab,
    ReviewTab,
    RisksTab,
    SlaTab,
    UnownedTab,
)
from .trends import TrendsTab

#: (pane id, tab label, tab widget class) in meeting order; keys 1-8 switch to them.
TABS: tuple[tuple[str, str, type[ReviewTab]], ...] = (
    ("agenda", "1 Agenda", AgendaTab),
    ("sla", "2 SLA", SlaTab),
    ("blocked", "3 Blocked", BlockedTab),
    ("unowned", "4 Unowned", UnownedTab),
    ("approvals", "5 Approvals", ApprovalsTab),
    ("load", "6 Load", LoadTab),
    ("risks", "7 Risks", RisksTab),
    ("trends", "8 Trends", TrendsTab),
)


#: Tabs whose rows are items: Enter (open), a (assign), m (move), T (transfer),
#: c (comment) and the marks act there.  On the load tab a / m / T / c act on the item of
#: the suggestion under the cursor (space and Enter select and accept suggestions).
ITEM_TABS = ("sla", "blocked", "unowned", "approvals")
ITEM_TABLE_IDS = ("t-sla", "t-blocked", "t-stuck", "t-unowned", "t-approvals", "t-minutes")


class ReviewScreen(ItemActions, ReviewActions, Screen[None]):
    """The weekly review.  ``ReviewScreen(week=None, stuck_days=3)``; the database is the
    app's (``db`` overrides it)."""

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #rv-head { height: auto; padding: 0 1; background: $boost; }
    ReviewScreen TabbedContent { height: 1fr; }
    ReviewScreen ContentSwitcher { height: 1fr; }
    ReviewScreen TabPane { padding: 0; height: 1fr; }
    ReviewScreen #rv-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        *(
            Binding(str(n), f"tab('{pane}')", label.split(" ", 1)[1], show=False)
            for n, (pane, label, _cls) in enumerate(TABS, 1)
        ),
        Binding("a", "assign_or_approve", "Assign/approve"),
        Binding("x", "reject", "Reject"),
        Binding("m", "item('move')", "Move"),
        Binding("T", "item('transfer')", "Transfer", show=False),
        Binding("c", "item('comment')", "Comment"),
        Binding("space", "toggle", "Select"),
        Binding("space", "mark", "Mark"),
        Binding("shift+down", "mark_move(1)", "Mark and move down", show=False),
        Binding("shift+up", "mark_move(-1)", "Mark and move up", show=False),
        Binding("asterisk", "mark_all", "Mark all shown", show=False),
        Binding("enter", "accept", "Accept move", priority=False),
        Binding("r", "reload", "Reload"),
        Binding("w", "pick_week", "Week"),
        Binding("h", "record", "Record review"),
        Binding("E", "export", "Export"),
        Binding("escape,q", "leave", "Leave"),
    ]

    class Loaded(Message):
        def __init__(self, review: review_svc.WeeklyReview, cursor: int | None) -> None:
            super().__init__()
            self.review = review
            #: The newest event id when the first snapshot was read (minutes start after it).
            self.cursor = cursor

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        db: Database | None = None,
        *,
        week: date | str | None = None,
        stuck_days: int = 3,
    ) -> None:
        super().__init__()
        self._db = db
        self.week = week
        self.stuck_days = stuck_days
        self.review: review_svc.WeeklyReview | None = None
        self.decisions: list[Decision] = []
        self._loading = False
        self._again = False
        self._stale = False
        self._leaving = False
        #: Recording on leave failed once: the next leave closes without recording.
        self._record_failed = False
        #: Items acted on from this screen (assign, move, comment): their events are minutes.
        self._acted: set[str] = set()
        #: Events after this id can be minutes (-1: not known until the first load).
        self._minutes_cursor = -1
        #: The files the last export wrote.
        self.exported: list[Path] = []

    @property
    def db(self) -> Database:
        return self._db if self._db is not None else self.app.db  # type: ignore[attr-defined]

    @property
    def selected(self) -> set[str]:
        """Keys of the rebalancing suggestions selected on the load tab."""
        return self.query_one(LoadTab).selected

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="rv-head"):
            yield Static(Text("Weekly review: loading…", style="bold"), id="rv-title")
            yield Static("", id="rv-summary")
        with TabbedContent(id="rv-tabs", initial="agenda"):
            for pane, label, cls in TABS:
                with TabPane(label, id=pane):
                    yield cls(id=f"tab-{pane}")
        yield Static("", id="rv-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.reload()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        if self.review is not None:
            self.show(self.review)

    # --- loading: the app's change feed, never a private poll --------------------------

    def data_changed(self, change: DataChange) -> None:
        """Called by the app for every batch of events (ours and other terminals')."""
        if self._acted:
            self._collect_minutes()
        if self._in_view():
            self.reload()
        else:
            self._stale = True

    def _in_view(self) -> bool:
        for screen in reversed(self.app.screen_stack):
            if not isinstance(screen, ModalScreen):
                return screen is self
        return False

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    def reload(self) -> None:
        """Load a fresh snapshot; a request while one is loading runs once after it."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._load()

    def action_reload(self) -> None:
        self.reload()

    def action_pick_week(self) -> None:
        """Review another week: a past one shows the board as it stood at its end."""
        from ....services.review.past import week_choices
        from ..picker import Candidate, PickerScreen

        def chosen(value: str | None) -> None:
            if value is not None:
                self.week = value or None
                self.reload()

        weeks = week_choices(self.app.clock.now())  # type: ignore[attr-defined]
        picks = [Candidate(w.value, w.label, w.detail) for w in weeks]
        self.app.push_screen(PickerScreen("Review as of", picks, verb="review"), chosen)

    @work(thread=True, exclusive=True, group="review-load", exit_on_error=False)
    def _load(self) -> None:
        cursor = None
        try:
            if self._minutes_cursor < 0:
                with self.db.read() as conn:
                    cursor = q.last_event_id(conn)
            review = review_svc.weekly_review(self.db, week=self.week, stuck_days=self.stuck_days)
        except OpsError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(review, cursor))

    def _load_finished(self) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failures go to the app's one error handler; a failed load or leave never traps."""
        if event.worker.group == "review-load" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._loading = False
        if event.state == WorkerState.ERROR:
            if self._leaving:  # the next leave closes without recording
                self._record_failed = True
            self._leaving = False
            super().on_worker_state_changed(event)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self._load_finished()
        self.notify(one_line(message.error), severity="error", markup=False)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if self._minutes_cursor < 0 and message.cursor is not None:
            self._minutes_cursor = message.cursor
        self._load_finished()
        self.show(message.review)

    # --- rendering: attributes down ----------------------------------------------------

    def show(self, rv: review_svc.WeeklyReview) -> None:
        self.review = rv
        with self.app.batch_update():
            self._show_head(rv)
            for tab in self.query(ReviewTab):
                tab.show(rv)
            self._status()

    def _as_of(self, rv: review_svc.WeeklyReview) -> str:
        """Whose open work: now's, a past week's board as it stood at its end, or the
        whole app's past (``--now`` in the past: its AS OF marker)."""
        badge = getattr(self.db, "readonly_badge", None)
        if badge:
            return str(badge)
        past = self.week and rv.end < self.app.clock.now() - timedelta(minutes=1)  # type: ignore[attr-defined]
        return "board as it stood then" if past else "open work as of now"

    def _show_head(self, rv: review_svc.WeeklyReview) -> None:
        pal = Palette.of(self.app)
        self.query_one("#rv-title", Static).update(
            Text.assemble(
                ("Weekly review  ", "bold"),
                f"{rv.start:%a %d %b %H:%M} to {rv.end:%a %d %b %H:%M} UTC",
                (f"  {self._as_of(rv)}", "dim"),
            )
        )
        c = rv.counts
        summary = Text()
        for label, n, style in (
            ("breaches", c["breaches"], pal.bad),
            ("near", c["near_misses"], pal.warn),
            ("blocked", c["blocked"], pal.warn),
            ("stuck", c["stuck"], pal.warn),
            ("unowned", c["unowned"], pal.unowned),
            ("approvals", c["approvals"], pal.info),
            ("overloaded", len(rv.capacity.overloaded), pal.over),
        ):
            if n == 1 and label in ("breaches", "approvals"):
                label = label.removesuffix("es" if label == "breaches" else "s")
            summary.append(f"{n} ", style=style if n else "dim")
            summary.append(f"{label}  ", style="" if n else "dim")
        self.query_one("#rv-summary", Static).update(summary)

    def _status(self, extra: str = "") -> None:
        pal = Palette.of(self.app)
        text = Text(f"{len(self.decisions)} decision(s) this session", style="dim")
        if self.selected:
            text.append(f"   {len(self.selected)} move(s) selected", style=f"bold {pal.good}")
        marked = self._tab().marked_items() if self.query(TabbedContent) else []
        if marked:
            text.append(f"   {len(marked)} marked", style="bold")
            keys = (
                "a/x decide, m T c act on all"
                if self._active() == "approvals"
                else "a m T c act on all"
            )
            text.append(f": {keys}")
        if extra:
            text.append(f"   {extra}")
        self.query_one("#rv-status", Static).update(text)

    # --- tabs ------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        """Focus the table a tab is about (the suggestions on the load tab)."""
        table = self.query_one(f"#tab-{tab}", ReviewTab).first_table()
        if table is not None:
            table.focus()

    def _active(self) -> str:
        return self.query_one(TabbedContent).active

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        focused = self.focused
        inside = focused is not None and event.pane in focused.ancestors_with_self
        if event.pane.id and not inside and not isinstance(focused, Tabs):
            self._focus_tab(event.pane.id)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.review is None and action in (
            "approve",
            "reject",
            "toggle",
            "accept",
            "item",
            "assign_or_approve",
            "mark",
            "mark_move",
            "mark_all",
        ):
            return False
        if action in ("approve", "reject"):
            return self._active() == "approvals"
        if action == "toggle":
            return self._active() == "load"
        if action == "accept":
            return self._active() == "load"
        if action in ("item", "assign_or_approve"):
            return self._active() in (*ITEM_TABS, "load")
        if action in ("mark", "mark_move", "mark_all"):
            return self._active() in ITEM_TABS
        return True

    # --- acting on items: the app's one item-action path (forms, services, feed) ------

    def _tab(self) -> ReviewTab:
        return self.query_one(f"#tab-{self._active()}", ReviewTab)

    def current_item_key(self) -> str | None:
        return self._tab().current_item()

    def action_item(self, kind: str) -> None:
        """Act on the marked rows of this tab (in bulk), or else on the current row."""
        tab = self._tab()
        marked = tab.marked_items()
        if marked and kind in BULK_KINDS:
            self._acted.update(marked)
            start_bulk(self.app, kind, marked, done=self._bulk_done)
            return
        key = self.current_item_key()
        if key is None:
            self.notify("no item under the cursor", severity="warning")
            return
        self._acted.add(key)
        super().action_item(kind)

    def _bulk_done(self) -> None:
        self._tab().clear_marks()
        self._status()

    def action_assign_or_approve(self) -> None:
        """``a``: approve on the approvals tab, assign elsewhere."""
        if self._active() == "approvals":
            self._decide(True)
        else:
            self.action_item("assign")

    @on(DataTable.RowSelected)
    def _open_row(self, event: DataTable.RowSelected) -> None:
        """Enter on an item row opens the item (the agenda and the moves handle their own)."""
        if event.data_table.id not in ITEM_TABLE_IDS:
            return
        event.stop()
        key = self.current_item_key()
        if key is not None:
            self.app.open_item(key)  # type: ignore[attr-defined]

    @on(AgendaTab.Jump)
    def _jump(self, message: AgendaTab.Jump) -> None:
        self.action_tab(message.tab)

    # --- marks: as the item list's (space, shift+arrows, *) ---------------------------

    def action_toggle(self) -> None:
        """Space on the load tab: select the suggestion under the cursor."""
        self.query_one(LoadTab).toggle()
        self._status()

    def action_mark(self) -> None:
        """Space on an item tab: mark or unmark the row, then go to the next one."""
        table = self._tab().item_table()
        if table is not None:
            table.toggle_mark()
            table.move_cursor(row=min(table.cursor_row + 1, table.row_count - 1))
        self._status()

    def action_mark_move(self, step: int) -> None:
        table = self._tab().item_table()
        if table is not None:
            table.toggle_mark(on=True)
            table.move_cursor(row=max(0, min(table.cursor_row + step, table.row_count - 1)))
            table.toggle_mark(on=True)
        self._status()

    def action_mark_all(self) -> None:
        table = self._tab().item_table()
        if table is not None:
            table.mark_all()
        self._status()
