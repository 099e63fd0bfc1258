"""The weekly review screen: a working agenda for one 30-minute meeting.

Sections are tabs (keys 1-8) in meeting order, one widget each (:mod:`.tabs`).  Everything
shown comes from one immutable :class:`~opstui.services.review.WeeklyReview` snapshot
loaded by a thread worker and handed down with ``show``.  The screen has no poll of its
own: the app's change feed calls :meth:`ReviewScreen.data_changed` like every screen's,
and the review reloads (a load never overlaps itself; while hidden it only marks itself
stale).  Every action (approve, reject, reassign) is an ordinary service call in a thread
worker whose events go through the same feed, so other terminals and screens see them.
The decisions taken are recorded as a held review when the screen is left (or with ``h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, WorkerState, get_current_worker

from ....domain.capacity import Move
from ....domain.text import one_line
from ....errors import OpsError
from ....services import review as review_svc
from ....store import queries as q
from ....store.engine import Database
from ...messages import DataChange
from ..base import ItemActions
from .load import LoadTab
from .parts import Palette, lit
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


#: Tabs whose rows are items: a (assign), m (move), c (comment), Enter (open) act there.
ITEM_TABS = ("sla", "blocked", "unowned", "approvals")
ITEM_TABLE_IDS = ("t-sla", "t-blocked", "t-stuck", "t-unowned", "t-approvals")
#: Event fields that are decisions when taken from the review (field -> minutes kind).
MINUTE_FIELDS = {"owner": "assign", "status": "move", "queue": "transfer", "comment": "comment"}


@dataclass(frozen=True)
class Decision:
    kind: str
    item: str
    detail: str
    at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "item": self.item,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


class NoteDialog(ModalScreen[str | None]):
    """Ask for an optional note (Enter confirms, Escape cancels)."""

    DEFAULT_CSS = """
    NoteDialog { align: center middle; }
    NoteDialog > Vertical {
        width: 70; max-width: 95%; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    NoteDialog Label { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: Text, placeholder: str = "note (optional)") -> None:
        super().__init__()
        self._title = title
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title)
            yield Input(placeholder=self._placeholder, id="note")
            yield Label(Text("Enter: confirm   Escape: cancel", style="dim"))

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReviewScreen(ItemActions, Screen[None]):
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
        Binding("c", "item('comment')", "Comment"),
        Binding("space", "toggle", "Select"),
        Binding("enter", "accept", "Accept move", priority=False),
        Binding("r", "reload", "Reload"),
        Binding("w", "pick_week", "Week"),
        Binding("h", "record", "Record review"),
        Binding("E", "export", "Export"),
        Binding("escape,q", "leave", "Leave"),
    ]

    class Loaded(Message):
        def __init__(self, review: review_svc.WeeklyReview) -> None:
            super().__init__()
            self.review = review

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class ActionsDone(Message):
        def __init__(
            self, decisions: list[Decision], errors: list[str], events: list[q.EventRecord]
        ) -> None:
            super().__init__()
            self.decisions = decisions
            self.errors = errors
            self.events = events

    class Recorded(Message):
        def __init__(
            self,
            review_id: int | None,
            error: str | None,
            leave: bool,
            events: list[q.EventRecord] | None = None,
        ) -> None:
            super().__init__()
            self.review_id = review_id
            self.error = error
            self.leave = leave
            self.events = events or []

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
        self._minutes_cursor = 0
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
        yield Footer()

    def on_mount(self) -> None:
        self._minutes_cursor = self.app.event_cursor  # type: ignore[attr-defined]
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
        try:
            review = review_svc.weekly_review(self.db, week=self.week, stuck_days=self.stuck_days)
        except OpsError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(review))

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
        ):
            return False
        if action in ("approve", "reject"):
            return self._active() == "approvals"
        if action == "toggle":
            return self._active() in ("load", "approvals")
        if action == "accept":
            return self._active() == "load"
        if action in ("item", "assign_or_approve"):
            return self._active() in ITEM_TABS
        return True

    # --- acting on items: the app's one item-action path (forms, services, feed) ------

    def current_item_key(self) -> str | None:
        return self.query_one(f"#tab-{self._active()}", ReviewTab).current_item()

    def action_item(self, kind: str) -> None:
        key = self.current_item_key()
        if key is None:
            self.notify("no item under the cursor", severity="warning")
            return
        self._acted.add(key)
        super().action_item(kind)

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

    def _minutes_from(self, events: list[q.EventRecord]) -> list[Decision]:
        """Decisions taken from this screen, from our own events on the items we acted on."""
        out = []
        for e in events:
            kind = MINUTE_FIELDS.get(e.field)
            if (
                kind is None
                or e.item_key not in self._acted
                or e.unix_user != self.db.unix_user
                or e.id <= self._minutes_cursor
            ):
                continue
            detail = (
                one_line(e.new or "", 200)
                if kind == "comment"
                else (f"{e.old or 'nobody'} -> {e.new or 'nobody'}")
            )
            out.append(Decision(kind, e.item_key or "", detail, e.ts))
        if events:
            self._minutes_cursor = max(self._minutes_cursor, max(e.id for e in events))
        return out

    @on(AgendaTab.Jump)
    def _jump(self, message: AgendaTab.Jump) -> None:
        self.action_tab(message.tab)

    # --- approvals -------------------------------------------------------------------

    def action_approve(self) -> None:
        self._decide(True)

    def action_reject(self) -> None:
        self._decide(False)

    def _decide(self, approve: bool) -> None:
        tab = self.query_one(ApprovalsTab)
        chosen = tab.chosen()
        if not chosen:
            self.notify("no pending approval selected", severity="warning")
            return
        if self.app.refuse_if_readonly():  # type: ignore[attr-defined]
            return
        verb = "Approve" if approve else "Reject"
        if len(chosen) == 1:
            pending = chosen[0]
            title = Text.assemble(
                (f"{verb} ", "bold"),
                lit(pending.key),
                " -> ",
                lit(pending.to_state),
                ": ",
                lit(pending.title, 50),
            )
        else:
            title = Text.assemble(
                (f"{verb} {len(chosen)} approvals ", "bold"),
                lit(", ".join(a.key for a in chosen), 50),
                " (one note for all)",
            )
        keys = [a.key for a in chosen]

        def done(note: str | None) -> None:
            if note is not None:
                tab.selected.clear()
                self.run_approval(keys, approve, note)

        self.app.push_screen(NoteDialog(title), done)

    @work(thread=True, group="review-minutes", exit_on_error=False)
    def _collect_minutes(self) -> None:
        events = self._events_since(self._minutes_cursor)
        self.app.call_from_thread(self._add_minutes, events)

    def _add_minutes(self, events: list[q.EventRecord]) -> None:
        found = self._minutes_from(events)
        if found:
            self.decisions.extend(found)
            self._status()

    def _events_since(self, cursor: int) -> list[q.EventRecord]:
        with self.db.read() as conn:
            return q.events_after(conn, cursor, 5000)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_approval(self, keys: list[str], approve: bool, note: str) -> None:
        """Decide each approval (each its own transaction: one refused leaves the others)."""
        from ....services import approvals

        cursor = self.app.event_cursor  # type: ignore[attr-defined]
        kind = "approve" if approve else "reject"
        done: list[Decision] = []
        errors: list[str] = []
        for key in keys:
            try:
                if approve:
                    approvals.approve(self.db, key, note)
                else:
                    approvals.reject(self.db, key, note)
            except OpsError as exc:
                errors.append(f"{key}: {exc}")
                continue
            done.append(Decision(kind, key, one_line(note, 200), self.db.clock.now()))
        self.post_message(self.ActionsDone(done, errors, self._events_since(cursor)))

    # --- rebalancing -----------------------------------------------------------------

    def action_toggle(self) -> None:
        if self._active() == "approvals":
            self.query_one(ApprovalsTab).toggle()
        else:
            self.query_one(LoadTab).toggle()
        self._status()

    def action_accept(self) -> None:
        self.query_one(LoadTab).accept()

    @on(LoadTab.MovesChosen)
    def _moves_chosen(self, message: LoadTab.MovesChosen) -> None:
        self._status()
        if not message.moves:
            self.notify("no suggestion selected", severity="warning")
            return
        if self.app.refuse_if_readonly():  # type: ignore[attr-defined]
            return
        self.run_moves(message.moves)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_moves(self, moves: list[Move]) -> None:
        from ....services import items

        cursor = self.app.event_cursor  # type: ignore[attr-defined]
        done: list[Decision] = []
        errors: list[str] = []
        for m in moves:
            try:
                items.assign(self.db, m.key, m.to_handle, expected_version=m.version)
            except OpsError as exc:
                errors.append(str(exc))
                continue
            done.append(
                Decision(
                    "reassign",
                    m.key,
                    f"{m.from_handle} -> {m.to_handle} ({m.hours:g}h)",
                    self.db.clock.now(),
                )
            )
        self.post_message(self.ActionsDone(done, errors, self._events_since(cursor)))

    @on(ActionsDone)
    def _actions_done(self, message: ActionsDone) -> None:
        self.decisions.extend(message.decisions)
        for d in message.decisions:
            self.notify(
                Text.assemble(lit(d.item), f" {d.kind}: ", lit(d.detail)).plain, markup=False
            )
        for e in message.errors:
            self.notify(one_line(e), severity="error", markup=False, timeout=8)
        self._status()
        # our own writes go through the app's change feed like everyone else's: every
        # screen (this one included, through data_changed) refreshes what they touched
        self.app.refresh_from_events(message.events)  # type: ignore[attr-defined]
        if message.errors:
            self.reload()  # a refused move: show the suggestion as it is now

    # --- export ----------------------------------------------------------------------

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (
                "Export the review",
                "write it as Markdown and self-contained HTML files (E)",
                self.action_export,
            ),
            *self.item_palette_commands(),
        ]

    def action_export(self) -> None:
        if self.review is None:
            self.notify("nothing loaded yet", severity="warning")
            return
        self.export(self.review, Path.cwd())

    @work(thread=True, group="review-export", exit_on_error=False)
    def export(self, rv: review_svc.WeeklyReview, directory: Path) -> None:
        from ....services.review.files import export_files

        try:
            paths = export_files(rv, directory)
        except OSError as exc:
            self.app.call_from_thread(
                self.notify,
                f"export failed: {one_line(str(exc))}",
                severity="error",
                markup=False,
            )
            return
        self.exported = paths
        self.app.call_from_thread(
            self.notify,
            "review written to " + " and ".join(str(p) for p in paths),
            title="Exported",
            markup=False,
            timeout=15,
        )

    # --- recording -------------------------------------------------------------------

    def action_record(self) -> None:
        title = Text.assemble(
            ("Record this review", "bold"), f" ({len(self.decisions)} decision(s))"
        )

        def done(note: str | None) -> None:
            if note is not None:
                self.record(note, leave=False)

        self.app.push_screen(NoteDialog(title, "notes for the record (optional)"), done)

    def action_leave(self) -> None:
        if self._leaving:
            return
        if self.decisions and self.review is not None and not self._record_failed:
            self._leaving = True
            self.record("", leave=True)
        else:
            self.dismiss(None)

    @work(thread=True, group="review-record", exit_on_error=False)
    def record(self, notes: str, leave: bool) -> None:
        rv = self.review
        if rv is None:
            self.post_message(self.Recorded(None, "nothing loaded yet", leave))
            return
        cursor = self.app.event_cursor  # type: ignore[attr-defined]
        try:
            rid = review_svc.record_review(
                self.db, rv.start, rv.end, [d.as_dict() for d in self.decisions], notes
            )
        except OpsError as exc:
            self.post_message(self.Recorded(None, str(exc), leave))
            return
        self.post_message(self.Recorded(rid, None, leave, self._events_since(cursor)))

    @on(Recorded)
    def _recorded(self, message: Recorded) -> None:
        if message.error:
            self._leaving = False
            if message.leave:
                self._record_failed = True
            hint = " (leave again to close without recording)" if message.leave else ""
            self.notify(
                f"review not recorded: {one_line(message.error)}{hint}",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        self.notify(f"review recorded with {len(self.decisions)} decision(s)", markup=False)
        self.decisions.clear()
        self._status()
        if message.leave:
            self.dismiss(None)
        self.app.refresh_from_events(message.events)  # type: ignore[attr-defined]
