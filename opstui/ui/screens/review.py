"""The weekly review screen: a working agenda for one 30-minute meeting.

Sections are tabs (keys 1-7) in meeting order.  Everything shown comes from one immutable
:class:`~opstui.services.review.WeeklyReview` snapshot loaded by a thread worker; every
action (approve, reject, reassign) is an ordinary service call in a thread worker, so it
records events and shows up live in other terminals.  The decisions taken are recorded as
a held review when the screen is left (or with ``h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical, VerticalScroll
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
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from ...domain.text import one_line
from ...errors import OpsError
from ...services import review as review_svc
from ...store.engine import Database

TABS = ("agenda", "sla", "blocked", "unowned", "approvals", "load", "risks", "trends")


def lit(value: Any, width: int | None = None, style: str = "") -> Text:
    """DB text, shown literally (no markup, no control bytes)."""
    return Text(one_line("" if value is None else str(value), width), style=style)


def theme_colour(app: App[Any], names: tuple[str, ...], fallback: str) -> str:
    """A theme colour as ``#RRGGBB`` for rich styles (first variable the theme defines)."""
    variables = app.theme_variables
    for name in names:
        value = variables.get(name)
        if value:
            try:
                return Color.parse(value).hex6
            except Exception:
                continue
    return fallback


def ts(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%d %b %H:%M")


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


class ReviewTable(DataTable[Any]):
    """A DataTable that repaints once its column widths are measured.

    Textual measures new rows on idle but keys its row render cache without the column
    widths, so rows painted before that idle keep their old (label-wide) columns.
    """

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()
            self.refresh()


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


class ReviewScreen(Screen[None]):
    """The weekly review.  ``ReviewScreen(db, week=None, stuck_days=3)``."""

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #rv-head { height: auto; padding: 0 1; background: $boost; }
    ReviewScreen #rv-head .title { text-style: bold; }
    ReviewScreen TabbedContent { height: 1fr; }
    ReviewScreen ContentSwitcher { height: 1fr; }
    ReviewScreen TabPane { padding: 0; height: 1fr; }
    ReviewScreen .section { height: auto; padding: 0 1; color: $text-muted; text-style: bold; }
    ReviewScreen DataTable { height: auto; }
    ReviewScreen .grow { height: 1fr; }
    ReviewScreen .half { height: 1fr; width: 1fr; }
    ReviewScreen #charts { height: 14; }
    ReviewScreen PlotextPlot { width: 1fr; height: 14; }
    ReviewScreen .spark-label { height: 1; padding: 0 1; }
    ReviewScreen #rv-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("1", "tab('agenda')", "Agenda", show=False),
        Binding("2", "tab('sla')", "SLA", show=False),
        Binding("3", "tab('blocked')", "Blocked", show=False),
        Binding("4", "tab('unowned')", "Unowned", show=False),
        Binding("5", "tab('approvals')", "Approvals", show=False),
        Binding("6", "tab('load')", "Load", show=False),
        Binding("7", "tab('risks')", "Bus factor", show=False),
        Binding("8", "tab('trends')", "Trends", show=False),
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject"),
        Binding("space", "toggle", "Select"),
        Binding("enter", "accept", "Accept move", priority=False),
        Binding("r", "reload", "Reload"),
        Binding("h", "record", "Record review"),
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
        def __init__(self, decisions: list[Decision], errors: list[str]) -> None:
            super().__init__()
            self.decisions = decisions
            self.errors = errors

    class Recorded(Message):
        def __init__(self, review_id: int | None, error: str | None, leave: bool) -> None:
            super().__init__()
            self.review_id = review_id
            self.error = error
            self.leave = leave

    def __init__(
        self,
        db: Database,
        *,
        week: date | str | None = None,
        stuck_days: int = 3,
        watch_interval: float | None = 3.0,
    ) -> None:
        super().__init__()
        self.db = db
        self.week = week
        self.stuck_days = stuck_days
        self.watch_interval = watch_interval
        self.review: review_svc.WeeklyReview | None = None
        self.decisions: list[Decision] = []
        self.selected: set[str] = set()
        self._cursor = -1
        self._leaving = False
        #: Recording on leave failed once: the next leave closes without recording.
        self._record_failed = False

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="rv-head"):
            yield Static(Text("Weekly review: loading…", style="bold"), id="rv-title")
            yield Static("", id="rv-summary")
        with TabbedContent(id="rv-tabs", initial="agenda"):
            with TabPane("1 Agenda", id="agenda"):
                yield ReviewTable(id="t-agenda", cursor_type="row", classes="grow")
            with TabPane("2 SLA", id="sla"):
                yield Static("SLA breaches and near misses", classes="section", id="h-sla")
                yield ReviewTable(id="t-sla", cursor_type="row", classes="grow")
                yield Static("By queue and by owner", classes="section")
                with Horizontal(classes="grow"):
                    yield ReviewTable(id="t-sla-queue", cursor_type="row", classes="half")
                    yield ReviewTable(id="t-sla-owner", cursor_type="row", classes="half")
            with TabPane("3 Blocked/stuck", id="blocked"):
                yield Static("Blocked", classes="section", id="h-blocked")
                yield ReviewTable(id="t-blocked", cursor_type="row", classes="grow")
                yield Static("Stuck", classes="section", id="h-stuck")
                yield ReviewTable(id="t-stuck", cursor_type="row", classes="grow")
            with TabPane("4 Unowned", id="unowned"):
                yield Static("Unowned items", classes="section", id="h-unowned")
                yield ReviewTable(id="t-unowned", cursor_type="row", classes="grow")
                yield Static("Process findings", classes="section", id="h-process")
                yield ReviewTable(id="t-process", cursor_type="row")
            with TabPane("5 Approvals", id="approvals"):
                yield Static(
                    "a: approve   x: reject (each asks for an optional note)", classes="section"
                )
                yield ReviewTable(id="t-approvals", cursor_type="row", classes="grow")
            with TabPane("6 Load", id="load"):
                yield Static("", classes="section", id="h-load")
                yield ReviewTable(id="t-load", cursor_type="row", classes="grow")
                yield Static(
                    "Suggestions: space selects, Enter reassigns the selected (or the current) item",
                    classes="section",
                )
                yield ReviewTable(id="t-moves", cursor_type="row", classes="grow")
            with TabPane("7 Bus factor", id="risks"):
                with Horizontal(classes="grow"):
                    yield ReviewTable(id="t-skills", cursor_type="row", classes="half")
                    yield ReviewTable(id="t-procs", cursor_type="row", classes="half")
            with TabPane("8 Trends", id="trends"):
                with VerticalScroll():
                    yield Static("", classes="spark-label", id="l-done")
                    yield Static("", classes="spark-label", id="l-cycle")
                    with Horizontal(id="charts"):
                        yield PlotextPlot(id="p-done")
                        yield PlotextPlot(id="p-cycle")
                    yield ReviewTable(id="t-weeks", cursor_type="row")
                    yield ReviewTable(id="t-queues", cursor_type="row")
        yield Static("", id="rv-status")
        yield Footer()

    def on_mount(self) -> None:
        cols: dict[str, tuple[str, ...]] = {
            "t-agenda": ("Section", "Count", "Notes"),
            "t-sla": ("Item", "Outcome", "Target", "Queue", "Owner", "Due", "Late/left", "Title"),
            "t-sla-queue": ("Queue", "Breached", "Near"),
            "t-sla-owner": ("Owner", "Breached", "Near"),
            "t-blocked": ("Item", "Owner", "Status", "Blocked by", "Blocker owner", "Title"),
            "t-stuck": ("Item", "Owner", "Status", "Idle wd", "Last event", "Title"),
            "t-unowned": ("Item", "Queue", "Pri", "Status", "Created", "Title"),
            "t-process": ("Process", "Finding", "Name"),
            "t-approvals": ("Item", "Owner", "Move to", "Requested", "By", "Title", "Note"),
            "t-load": ("Person", "Open", "Load", "Avail", "Util", "Chart", "Flag"),
            "t-moves": ("Sel", "Item", "Hours", "From", "To", "Title", "Why"),
            "t-skills": ("Skill", "People", "#"),
            "t-procs": ("Process", "Owner", "Can cover", "#"),
            "t-weeks": ("Week of", "Done", "Median", "p85"),
            "t-queues": ("Queue", "Done", "Median", "p85", "This wk", "Prev wk", "Change"),
        }
        for table_id, names in cols.items():
            table = self.query_one(f"#{table_id}", DataTable)
            for name in names:
                table.add_column(name, key=name)
        self.load()
        if self.watch_interval:
            self.set_interval(self.watch_interval, self.check_changes)

    # --- loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="review-load", exit_on_error=False)
    def load(self) -> None:
        try:
            review = review_svc.weekly_review(self.db, week=self.week, stuck_days=self.stuck_days)
            from ...store.queries import last_event_id

            with self.db.read() as conn:
                cursor = last_event_id(conn)
        except OpsError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        self._cursor = cursor
        self.post_message(self.Loaded(review))

    @work(thread=True, exclusive=True, group="review-watch", exit_on_error=False)
    def check_changes(self) -> None:
        from ...store.queries import last_event_id

        try:
            with self.db.read() as conn:
                cursor = last_event_id(conn)
        except OpsError:
            return
        if cursor != self._cursor and self._cursor >= 0:
            self._cursor = cursor
            self.app.call_from_thread(self.load)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for unexpected worker failures: a one-line notice, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            if self._leaving:  # the next leave closes without recording
                self._record_failed = True
            self._leaving = False
            self.notify(
                one_line(f"internal error: {type(error).__name__}: {error}"),
                severity="error",
                markup=False,
                timeout=10,
            )

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.notify(one_line(message.error), severity="error", markup=False)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.review = message.review
        self.selected &= {m.key for m in message.review.capacity.moves}
        self.render_review(message.review)

    # --- rendering -------------------------------------------------------------------

    def _fill(self, table_id: str, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Replace a table's rows, keeping the cursor on the same key where possible."""
        table = self.query_one(f"#{table_id}", DataTable)
        current = None
        if table.row_count and table.cursor_row >= 0:
            try:
                current = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            except Exception:
                current = None
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if current is not None:
            try:
                table.move_cursor(row=table.get_row_index(current))
            except Exception:
                pass

    def _palette(self) -> tuple[str, str, str, str]:
        """(bad, warn, good, info) styles from the current theme."""
        bad = theme_colour(self.app, ("sla-breach", "error"), "red")
        warn = theme_colour(self.app, ("sla-warn", "warning"), "yellow")
        good = theme_colour(self.app, ("success",), "green")
        info = theme_colour(self.app, ("accent",), "cyan")
        return f"bold {bad}", warn, good, info

    def render_review(self, rv: review_svc.WeeklyReview) -> None:
        cap = rv.capacity
        bad, warn, good, info = self._palette()
        title = Text.assemble(
            ("Weekly review  ", "bold"),
            f"{rv.start:%a %d %b %H:%M} to {rv.end:%a %d %b %H:%M} UTC",
            ("  open work as of now", "dim"),
        )
        self.query_one("#rv-title", Static).update(title)
        c = rv.counts
        summary = Text()
        for label, n, style in (
            ("breaches", c["breaches"], bad),
            ("near", c["near_misses"], warn),
            ("blocked", c["blocked"], warn),
            ("stuck", c["stuck"], warn),
            ("unowned", c["unowned"], warn),
            ("approvals", c["approvals"], info),
            ("overloaded", len(cap.overloaded), bad),
        ):
            if n == 1 and label in ("breaches", "approvals"):
                label = label.removesuffix("es" if label == "breaches" else "s")
            summary.append(f"{n} ", style=style if n else "dim")
            summary.append(f"{label}  ", style="" if n else "dim")
        self.query_one("#rv-summary", Static).update(summary)

        this, prev = rv.this_week, rv.prev_week
        busiest = (
            f"{cap.busiest} holds {cap.busiest_share:.0%} of owned load"
            + (" (warning)" if cap.busiest_warning else "")
            if cap.busiest and cap.busiest_share is not None
            else "no owned open load"
        )
        agenda = [
            ("breaches", "1. SLA breaches", c["breaches"], "by queue and owner on tab 2"),
            (
                "near",
                "   SLA near misses",
                c["near_misses"],
                "met with under 20% of the window left",
            ),
            ("blocked", "2. Blocked items", c["blocked"], "and what blocks them (tab 3)"),
            ("stuck", "   Stuck items", c["stuck"], f"no event for {rv.stuck_days}+ working days"),
            ("unowned", "3. Unowned items", c["unowned"], "give each an owner (tab 4)"),
            (
                "procs",
                "   Process findings",
                c["process_findings"],
                "ownerless or incomplete processes",
            ),
            ("approvals", "4. Pending approvals", c["approvals"], "a / x on tab 5"),
            ("overloaded", "5. Overloaded people", len(cap.overloaded), busiest),
            ("moves", "   Suggested moves", len(cap.moves), "space + Enter on tab 6"),
            (
                "risks",
                "6. Bus-factor risks",
                len(cap.skill_risks) + len(cap.process_risks),
                ", ".join(x.name for x in (*cap.skill_risks, *cap.process_risks))[:80] or "none",
            ),
            (
                "done",
                "7. Done in the week",
                this.done,
                f"{review_svc.change_text(this.done, prev.done if prev else None)} vs week before; "
                f"cycle median {review_svc.hours_text(this.median_h)} "
                f"({review_svc.change_text(this.median_h, prev.median_h if prev else None, unit='h')})",
            ),
        ]
        if rv.last_review is not None:
            held = rv.last_review
            agenda.append(
                (
                    "last",
                    "   Last review",
                    held.decisions,
                    f"held by {held.held_by} on {held.held_at:%a %d %b %H:%M}, "
                    f"week of {held.week_start:%d %b} (decisions)",
                )
            )
        self._fill(
            "t-agenda",
            [
                (k, (Text(label), Text(str(n), style="bold" if n else "dim"), lit(note)))
                for k, label, n, note in agenda
            ],
        )

        misses = [*rv.breaches, *rv.near_misses]
        self.query_one("#h-sla", Static).update(
            f"SLA breaches ({c['breaches']}) and near misses ({c['near_misses']}) of the week"
            + ("" if misses else ": none")
        )
        self._fill(
            "t-sla",
            [
                (
                    f"{m.key}:{m.target}:{m.outcome}",
                    (
                        lit(m.key),
                        Text(m.outcome, style=bad if m.outcome == "breached" else warn),
                        Text(m.target),
                        lit(m.queue),
                        lit(m.owner or "(unowned)"),
                        Text(ts(m.due)),
                        Text(review_svc.margin_text(m.margin_s)),
                        lit(m.title, 50),
                    ),
                )
                for m in misses
            ],
        )
        self._fill(
            "t-sla-queue",
            [(k, (lit(k), Text(str(b)), Text(str(n)))) for k, b, n in rv.misses_by("queue")],
        )
        self._fill(
            "t-sla-owner",
            [(k, (lit(k), Text(str(b)), Text(str(n)))) for k, b, n in rv.misses_by("owner")],
        )

        self.query_one("#h-blocked", Static).update(f"Blocked ({len(rv.blocked)})")
        self._fill(
            "t-blocked",
            [
                (
                    b.key,
                    (
                        lit(b.key),
                        lit(b.owner or "(unowned)"),
                        lit(b.status),
                        lit(", ".join(x.key for x in b.blockers) or "(no blocker recorded)"),
                        lit(", ".join(x.owner or "(unowned)" for x in b.blockers) or "-"),
                        lit(b.title, 50),
                    ),
                )
                for b in rv.blocked
            ],
        )
        self.query_one("#h-stuck", Static).update(
            f"Stuck: no event for {rv.stuck_days}+ working days ({c['stuck']})"
        )
        self._fill(
            "t-stuck",
            [
                (
                    s.key,
                    (
                        lit(s.key),
                        lit(s.owner or "(unowned)"),
                        lit(s.status),
                        Text(f"{s.idle_days:g}"),
                        Text(ts(s.last_event_at)),
                        lit(s.title, 50),
                    ),
                )
                for s in rv.stuck
            ],
        )
        self.query_one("#h-unowned", Static).update(f"Unowned items ({c['unowned']})")
        self._fill(
            "t-unowned",
            [
                (
                    u.key,
                    (
                        lit(u.key),
                        lit(u.queue),
                        Text(f"P{u.priority}", style=bad if u.priority == 1 else ""),
                        lit(u.status),
                        Text(ts(u.created_at)),
                        lit(u.title, 60),
                    ),
                )
                for u in rv.unowned
            ],
        )
        self.query_one("#h-process", Static).update(
            f"Process findings ({len(rv.process_findings)})"
        )
        self._fill(
            "t-process",
            [
                (p.key, (lit(p.key), Text(p.finding, style=warn), lit(p.name, 50)))
                for p in rv.process_findings
            ],
        )
        self._fill(
            "t-approvals",
            [
                (
                    str(a.approval_id),
                    (
                        lit(a.key),
                        lit(a.owner or "(unowned)"),
                        lit(a.to_state),
                        Text(ts(a.requested_at)),
                        lit(a.requested_by),
                        lit(a.title, 50),
                        lit(a.note, 30),
                    ),
                )
                for a in rv.approvals
            ],
        )
        top = max([1.0, *(p.utilisation or 0 for p in cap.people)])
        self.query_one("#h-load", Static).update(
            Text.assemble(
                f"Load for {cap.window_start:%a %d %b} to {cap.window_end:%a %d %b}: ",
                (busiest, bad if cap.busiest_warning else ""),
            )
        )
        self._fill(
            "t-load",
            [
                (
                    p.handle,
                    (
                        lit(p.handle),
                        Text(str(p.open_items)),
                        Text(f"{p.load_hours:g}h"),
                        Text(f"{p.available_hours:g}h"),
                        Text(
                            f"{p.utilisation:.0%}" if p.utilisation is not None else "-",
                            style=bad if p.overloaded else "",
                        ),
                        Text(
                            review_svc.bar(p.utilisation or 0, top, 12),
                            style=bad if p.overloaded else good,
                        ),
                        Text(
                            "OVERLOADED"
                            if p.overloaded
                            else (
                                "inactive"
                                if not p.active
                                else (f"away {p.away_days}d" if p.away_days else "")
                            ),
                            style=bad if p.overloaded else "dim",
                        ),
                    ),
                )
                for p in cap.people
            ],
        )
        self._render_moves()
        self._fill(
            "t-skills",
            [
                (
                    s.name,
                    (
                        lit(s.name),
                        lit(", ".join(s.people) or "nobody"),
                        Text(str(s.count), style=bad if s.risk else ""),
                    ),
                )
                for s in cap.skills
            ],
        )
        self._fill(
            "t-procs",
            [
                (
                    p.name,
                    (
                        lit(p.name),
                        lit(p.owner or "(none)", style="" if p.owner else bad),
                        lit(", ".join(p.people) or "nobody"),
                        Text(str(p.count), style=bad if p.risk else ""),
                    ),
                )
                for p in cap.processes
            ],
        )
        done = [float(w.done) for w in rv.weeks]
        self._draw_charts(rv)
        self.query_one("#l-done", Static).update(
            Text.assemble(
                ("Done per week ", "bold"),
                f"(8 weeks, {int(min(done, default=0))}..{int(max(done, default=0))}): ",
                f"this week {this.done}, {review_svc.change_text(this.done, prev.done if prev else None)} vs week before",
            )
        )
        self.query_one("#l-cycle", Static).update(
            Text.assemble(
                ("Cycle time median ", "bold"),
                f"this week {review_svc.hours_text(this.median_h)}, ",
                review_svc.change_text(this.median_h, prev.median_h if prev else None, unit="h"),
                " vs week before",
            )
        )
        self._fill(
            "t-weeks",
            [
                (
                    f"{w.start:%Y-%m-%d}",
                    (
                        Text(f"{w.start:%d %b}"),
                        Text(str(w.done)),
                        Text(review_svc.hours_text(w.median_h)),
                        Text(review_svc.hours_text(w.p85_h)),
                    ),
                )
                for w in rv.weeks
            ],
        )
        self._fill(
            "t-queues",
            [
                (
                    q.queue,
                    (
                        lit(q.queue),
                        Text(str(q.done)),
                        Text(review_svc.hours_text(q.median_h)),
                        Text(review_svc.hours_text(q.p85_h)),
                        Text(review_svc.hours_text(q.week_median_h)),
                        Text(review_svc.hours_text(q.prev_week_median_h)),
                        Text(
                            review_svc.change_text(q.week_median_h, q.prev_week_median_h, unit="h")
                        ),
                    ),
                )
                for q in rv.queues
            ],
        )
        self._status()

    def _draw_charts(self, rv: review_svc.WeeklyReview) -> None:
        """Throughput bars and cycle-time lines (labels are dates we make, never DB text)."""
        labels = [f"{w.start:%d %b}" for w in rv.weeks]
        done_plot = self.query_one("#p-done", PlotextPlot)
        plt = done_plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar(labels, [w.done for w in rv.weeks], width=0.5)
        plt.title("Done per week")
        done_plot.refresh()
        cycle_plot = self.query_one("#p-cycle", PlotextPlot)
        plt = cycle_plot.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(1, len(rv.weeks) + 1))
        plt.plot(xs, [w.median_h or 0.0 for w in rv.weeks], label="median", marker="braille")
        plt.plot(xs, [w.p85_h or 0.0 for w in rv.weeks], label="p85", marker="braille")
        plt.xticks(xs, labels)
        plt.title("Cycle time (hours)")
        cycle_plot.refresh()

    def _render_moves(self) -> None:
        if self.review is None:
            return
        good = self._palette()[2]
        self._fill(
            "t-moves",
            [
                (
                    m.key,
                    (
                        Text(
                            "[x]" if m.key in self.selected else "[ ]",
                            style=f"bold {good}" if m.key in self.selected else "dim",
                        ),
                        lit(m.key),
                        Text(f"{m.hours:g}h"),
                        lit(m.from_handle),
                        lit(m.to_handle, style="bold"),
                        lit(m.title, 40),
                        lit(m.reason),
                    ),
                )
                for m in self.review.capacity.moves
            ],
        )

    def _status(self, extra: str = "") -> None:
        good = self._palette()[2]
        text = Text(f"{len(self.decisions)} decision(s) this session", style="dim")
        if self.selected:
            text.append(f"   {len(self.selected)} move(s) selected", style=f"bold {good}")
        if extra:
            text.append(f"   {extra}")
        self.query_one("#rv-status", Static).update(text)

    # --- actions ---------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        """Focus the table a tab is about (the suggestions on the load tab)."""
        if tab == "load":
            self.query_one("#t-moves", DataTable).focus()
            return
        tables = list(self.query_one(f"#{tab}", TabPane).query(DataTable))
        if tables:
            tables[0].focus()

    def action_reload(self) -> None:
        self.load()

    def _active(self) -> str:
        return self.query_one(TabbedContent).active

    def _current_key(self, table_id: str) -> str | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:
            return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.review is None and action in ("approve", "reject", "toggle", "accept"):
            return False
        if action in ("approve", "reject"):
            return self._active() == "approvals"
        if action in ("toggle", "accept"):
            return self._active() == "load"
        return True

    @on(DataTable.RowSelected, "#t-moves")
    def _move_chosen(self) -> None:
        self.action_accept()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        focused = self.focused
        inside = focused is not None and event.pane in focused.ancestors_with_self
        if event.pane.id and not inside and not isinstance(focused, Tabs):
            self._focus_tab(event.pane.id)
        self.refresh_bindings()

    def _pending(self) -> review_svc.PendingApproval | None:
        key = self._current_key("t-approvals")
        if self.review is None or key is None:
            return None
        return next((a for a in self.review.approvals if str(a.approval_id) == key), None)

    def action_approve(self) -> None:
        self._decide(True)

    def action_reject(self) -> None:
        self._decide(False)

    def _decide(self, approve: bool) -> None:
        pending = self._pending()
        if pending is None:
            self.notify("no pending approval selected", severity="warning")
            return
        verb = "Approve" if approve else "Reject"
        title = Text.assemble(
            (f"{verb} ", "bold"),
            lit(pending.key),
            " -> ",
            lit(pending.to_state),
            ": ",
            lit(pending.title, 50),
        )

        def done(note: str | None) -> None:
            if note is not None:
                self.run_approval(pending.key, approve, note)

        self.app.push_screen(NoteDialog(title), done)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_approval(self, key: str, approve: bool, note: str) -> None:
        from ...services import approvals as automation

        now = self.db.clock.now()
        try:
            if approve:
                automation.approve(self.db, key, note)  # type: ignore[attr-defined]
            else:
                automation.reject(self.db, key, note)  # type: ignore[attr-defined]
        except OpsError as exc:
            self.post_message(self.ActionsDone([], [f"{key}: {exc}"]))
            return
        except AttributeError:
            self.post_message(self.ActionsDone([], ["approvals are not available in this build"]))
            return
        kind = "approve" if approve else "reject"
        self.post_message(self.ActionsDone([Decision(kind, key, one_line(note, 200), now)], []))

    def action_toggle(self) -> None:
        key = self._current_key("t-moves")
        if key is None:
            return
        self.selected ^= {key}
        self._render_moves()
        table = self.query_one("#t-moves", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self._status()

    def action_accept(self) -> None:
        if self.review is None:
            return
        keys = set(self.selected) or ({k} if (k := self._current_key("t-moves")) else set())
        moves = [m for m in self.review.capacity.moves if m.key in keys]
        if not moves:
            self.notify("no suggestion selected", severity="warning")
            return
        self.selected.clear()
        self.run_moves(moves)

    @work(thread=True, group="review-action", exit_on_error=False)
    def run_moves(self, moves: list[Any]) -> None:
        from ...services import items

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
        self.post_message(self.ActionsDone(done, errors))

    @on(ActionsDone)
    def _actions_done(self, message: ActionsDone) -> None:
        self.decisions.extend(message.decisions)
        for d in message.decisions:
            self.notify(
                Text.assemble(lit(d.item), f" {d.kind}: ", lit(d.detail)).plain, markup=False
            )
        for e in message.errors:
            self.notify(one_line(e), severity="error", markup=False, timeout=8)
        self.load()

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
            self._close()

    @work(thread=True, group="review-record", exit_on_error=False)
    def record(self, notes: str, leave: bool) -> None:
        rv = self.review
        if rv is None:
            self.post_message(self.Recorded(None, "nothing loaded yet", leave))
            return
        try:
            rid = review_svc.record_review(
                self.db, rv.start, rv.end, [d.as_dict() for d in self.decisions], notes
            )
        except OpsError as exc:
            self.post_message(self.Recorded(None, str(exc), leave))
            return
        self.post_message(self.Recorded(rid, None, leave))

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
            self._close()

    def _close(self) -> None:
        self.workers.cancel_group(self, "review-watch")
        if len(self.app.screen_stack) > 1:
            self.dismiss(None)
        else:
            self.app.exit()


class ReviewApp(App[None]):
    """A small host for ``opstui review`` (the dashboard pushes the screen itself)."""

    TITLE = "opstui review"

    def __init__(
        self,
        db: Database,
        *,
        week: date | str | None = None,
        stuck_days: int = 3,
        watch_interval: float | None = 3.0,
    ) -> None:
        super().__init__()
        self.db = db
        self._week = week
        self._stuck_days = stuck_days
        self._watch = watch_interval

    def on_mount(self) -> None:
        self.push_screen(
            ReviewScreen(
                self.db, week=self._week, stuck_days=self._stuck_days, watch_interval=self._watch
            ),
            lambda _result: self.exit(),
        )


def run_review(db: Database, *, week: date | str | None = None, stuck_days: int = 3) -> None:
    ReviewApp(db, week=week, stuck_days=stuck_days).run()
