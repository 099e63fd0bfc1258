"""What the review screen does, as opposed to what it shows: approvals, rebalancing moves,
the minutes, export and recording (:class:`ReviewActions`, mixed into
:class:`~.screen.ReviewScreen`).

Every action is an ordinary service call in a thread worker whose events go through the
app's change feed, so other terminals and screens see them.  The decisions taken (here,
and the assign / move / transfer / comment done on items from the review's tabs, one at
a time or in bulk) become the review's minutes: who, what, when.  They are recorded as a
held review when the screen is left (or with ``h``) and appear in the next week's review
as "decided last week".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ....domain.capacity import Move
from ....domain.text import one_line
from ....errors import OpsError
from ....services import review as review_svc
from ....store import queries as q
from .load import LoadTab
from .parts import lit
from .tabs import ApprovalsTab

if TYPE_CHECKING:
    from ....store.engine import Database

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


class ReviewActionsDone(Message):
    """Actions run by the review (approvals, moves): what was decided, what failed."""

    def __init__(
        self, decisions: list[Decision], errors: list[str], events: list[q.EventRecord]
    ) -> None:
        super().__init__()
        self.decisions = decisions
        self.errors = errors
        self.events = events


class ReviewRecorded(Message):
    """The held review was recorded (``review_id``), or not (``error``)."""

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


class ReviewActions:
    """The review screen's actions; the screen provides ``db``, ``review``, ``decisions``,
    the status line and the tabs.  Handlers are named ``on_...`` (a mixin's ``@on``
    handlers are not collected by Textual)."""

    # provided by the screen
    app: Any
    review: review_svc.WeeklyReview | None
    decisions: list[Decision]
    exported: list[Path]
    _acted: set[str]
    _minutes_cursor: int
    _leaving: bool
    _record_failed: bool
    if TYPE_CHECKING:

        @property
        def db(self) -> Database: ...

        def query_one(self, *args: Any) -> Any: ...
        def notify(self, *args: Any, **kwargs: Any) -> None: ...
        def post_message(self, message: Message) -> bool: ...
        def dismiss(self, result: Any = None) -> Any: ...
        def reload(self) -> None: ...
        def _status(self, extra: str = "") -> None: ...

    # --- minutes: our own events on the items we acted on -----------------------------

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
        if self.app.refuse_if_readonly():
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
                tab.clear_marks()
                self.run_approval(keys, approve, note)

        self.app.push_screen(NoteDialog(title), done)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_approval(self, keys: list[str], approve: bool, note: str) -> None:
        """Decide each approval (each its own transaction: one refused leaves the others)."""
        from ....services import approvals

        cursor = self.app.event_cursor
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
        self.post_message(ReviewActionsDone(done, errors, self._events_since(cursor)))

    # --- rebalancing -----------------------------------------------------------------

    def action_accept(self) -> None:
        self.query_one(LoadTab).accept()

    def on_load_tab_moves_chosen(self, message: LoadTab.MovesChosen) -> None:
        self._status()
        if not message.moves:
            self.notify("no suggestion selected", severity="warning")
            return
        if self.app.refuse_if_readonly():
            return
        self.run_moves(message.moves)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_moves(self, moves: list[Move]) -> None:
        from ....services import items

        cursor = self.app.event_cursor
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
        self.post_message(ReviewActionsDone(done, errors, self._events_since(cursor)))

    def on_review_actions_done(self, message: ReviewActionsDone) -> None:
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
        self.app.refresh_from_events(message.events)
        if message.errors:
            self.reload()  # a refused move: show the suggestion as it is now

    # --- export ----------------------------------------------------------------------

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
            self.post_message(ReviewRecorded(None, "nothing loaded yet", leave))
            return
        cursor = self.app.event_cursor
        try:
            rid = review_svc.record_review(
                self.db, rv.start, rv.end, [d.as_dict() for d in self.decisions], notes
            )
        except OpsError as exc:
            self.post_message(ReviewRecorded(None, str(exc), leave))
            return
        self.post_message(ReviewRecorded(rid, None, leave, self._events_since(cursor)))

    def on_review_recorded(self, message: ReviewRecorded) -> None:
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
        self.app.refresh_from_events(message.events)
