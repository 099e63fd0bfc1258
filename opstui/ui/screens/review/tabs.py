"""The review's tabs, one widget each, in meeting order (tab 6 in :mod:`.load`, tab 8 in
:mod:`.trends`).

Attributes down, messages up: the screen hands each tab the whole immutable
:class:`~opstui.services.review.WeeklyReview` with ``show(review)``; a tab reports what
the user chose with a message (:class:`LoadTab.MovesChosen`).  Colours come from the
theme's app variables (:class:`~.parts.Palette`), read at each ``show``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ....services.review import (
    PendingApproval,
    WeeklyReview,
    margin_text,
)
from ....services.review.agenda import AgendaLine, agenda
from .audit import AuditBlock
from .parts import Palette, ReviewTable, lit, ts


class ReviewTab(Vertical):
    """A tab's body: ``show(review)`` renders the snapshot; ``first_table`` takes focus."""

    DEFAULT_CSS = """
    ReviewTab { height: 1fr; }
    ReviewTab .section { height: auto; padding: 0 1; color: $text-muted; text-style: bold; }
    ReviewTab DataTable { height: auto; }
    ReviewTab .grow { height: 1fr; }
    ReviewTab .half { height: 1fr; width: 1fr; }
    """

    #: Tables whose rows are items (their first column is the item's key).
    ITEM_TABLES: tuple[str, ...] = ()

    def show(self, rv: WeeklyReview) -> None:
        raise NotImplementedError

    def item_table(self) -> ReviewTable | None:
        """This tab's focused (or first) item table; None when its rows are not items."""
        tables = [self._table(t) for t in self.ITEM_TABLES]
        if not tables:
            return None
        focused = self.screen.focused
        return next((t for t in tables if t is focused), tables[0])

    def current_item(self) -> str | None:
        """The key of the item under the cursor of this tab's focused (or first) item
        table; None when the tab's rows are not items."""
        table = self.item_table()
        return table.current_item() if table is not None else None

    def marked_items(self) -> list[str]:
        """The items marked on this tab's item tables, in table and row order, each once."""
        out: list[str] = []
        for table_id in self.ITEM_TABLES:
            out += [k for k in self._table(table_id).marked_items() if k not in out]
        return out

    def clear_marks(self) -> None:
        for table_id in self.ITEM_TABLES:
            self._table(table_id).clear_marks()

    def first_table(self) -> DataTable[object] | None:
        tables = list(self.query(DataTable))
        return tables[0] if tables else None

    def _section(self, widget_id: str, text: str | Text) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    def _table(self, table_id: str) -> ReviewTable:
        return self.query_one(f"#{table_id}", ReviewTable)


#: The review's tabs in meeting order (pane ids); keys 1-8 switch to them.
TAB_ORDER = ("agenda", "sla", "blocked", "unowned", "approvals", "load", "risks", "trends")
TAB_NUMBERS = {pane: n for n, pane in enumerate(TAB_ORDER, 1)}


class AgendaTab(ReviewTab):
    """1: every agenda line (``services.review.agenda``); Enter jumps to the line's tab.
    Below, when last week's review was recorded, its minutes ("decided last week"; Enter
    on one opens its item)."""

    lines: dict[str, AgendaLine] = {}

    DEFAULT_CSS = """
    AgendaTab #t-minutes { height: auto; max-height: 9; }
    """

    @dataclass
    class Jump(Message):
        """Enter on an agenda line: show the tab it is about."""

        tab: str

    @on(DataTable.RowSelected, "#t-agenda")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self._table("t-agenda").current_key() == "last" and self._table("t-minutes").row_count:
            self._table("t-minutes").focus()  # the minutes are on this tab, below
            return
        tab = self.current_tab()
        if tab is not None:
            self.post_message(self.Jump(tab))

    def compose(self) -> ComposeResult:
        yield Static("Enter on a line opens its tab", classes="section")
        yield ReviewTable("Section", "Count", "Tab", "Notes", id="t-agenda", classes="grow")
        yield Static("Decided last week", classes="section", id="h-minutes")
        yield ReviewTable(
            "Item", "When", "Held by", "Decision", "Detail", id="t-minutes", items=True
        )

    def current_item(self) -> str | None:
        """The item of the minute under the cursor, when the minutes have the focus."""
        minutes = self._table("t-minutes")
        return minutes.current_item() if self.screen.focused is minutes else None

    def marked_items(self) -> list[str]:
        return []

    def show(self, rv: WeeklyReview) -> None:
        self._show_minutes(rv)
        self.lines = {line.key: line for line in agenda(rv)}
        self._table("t-agenda").fill(
            [
                (
                    line.key,
                    (
                        Text(line.label),
                        Text(str(line.count), style="bold" if line.count else "dim"),
                        Text(str(TAB_NUMBERS.get(line.tab, "")), style="dim"),
                        lit(line.note),
                    ),
                )
                for line in self.lines.values()
            ]
        )

    def _show_minutes(self, rv: WeeklyReview) -> None:
        minutes = rv.decided_last_week
        for widget_id in ("h-minutes", "t-minutes"):
            self.query_one(f"#{widget_id}").display = bool(minutes)
        holders = {(m.held_by, m.held_at) for m in minutes}
        notes = sum(1 for m in minutes if m.kind == "note")
        self._section(
            "h-minutes",
            f"Decided last week: {len(minutes) - notes} decision(s)"
            + (f", {notes} note(s)" if notes else "")
            + f" from {len(holders)} recorded review(s); Enter opens the item",
        )
        self._table("t-minutes").fill(
            [
                (
                    f"{n}",
                    (
                        lit(m.item or ""),
                        Text(ts(m.at)),
                        lit(m.held_by),
                        Text(m.kind, style="bold" if m.kind != "note" else "dim"),
                        lit(m.detail, 80),
                    ),
                )
                for n, m in enumerate(minutes)
            ]
        )

    def current_tab(self) -> str | None:
        """The tab the agenda line under the cursor is about."""
        key = self._table("t-agenda").current_key()
        line = self.lines.get(key) if key else None
        return line.tab if line else None


class SlaTab(ReviewTab):
    """2: SLA breaches and near misses, then both counted by queue and by owner."""

    ITEM_TABLES = ("t-sla",)

    def compose(self) -> ComposeResult:
        yield Static("SLA breaches and near misses", classes="section", id="h-sla")
        yield ReviewTable(
            "Item",
            "Outcome",
            "Target",
            "Queue",
            "Owner",
            "Due",
            "Late/left",
            "Title",
            id="t-sla",
            classes="grow",
            items=True,
        )
        yield Static("By queue and by owner", classes="section")
        with Horizontal(classes="grow"):
            yield ReviewTable("Queue", "Breached", "Near", id="t-sla-queue", classes="half")
            yield ReviewTable("Owner", "Breached", "Near", id="t-sla-owner", classes="half")

    def show(self, rv: WeeklyReview) -> None:
        pal = Palette.of(self.app)
        c = rv.counts
        misses = [*rv.breaches, *rv.near_misses]
        self._section(
            "h-sla",
            f"SLA breaches ({c['breaches']}) and near misses ({c['near_misses']}) of the week"
            + ("" if misses else ": none"),
        )
        self._table("t-sla").fill(
            [
                (
                    f"{m.key}:{m.target}:{m.outcome}",
                    (
                        lit(m.key),
                        Text(m.outcome, style=pal.bad if m.outcome == "breached" else pal.warn),
                        Text(m.target),
                        lit(m.queue),
                        lit(m.owner or "(unowned)"),
                        Text(ts(m.due)),
                        Text(margin_text(m.margin_s)),
                        lit(m.title, 50),
                    ),
                )
                for m in misses
            ]
        )
        for table_id, attr in (("t-sla-queue", "queue"), ("t-sla-owner", "owner")):
            self._table(table_id).fill(
                [
                    (
                        k,
                        (
                            lit(k),
                            Text(str(b), style=pal.bad if b else ""),
                            Text(str(n), style=pal.warn if n else ""),
                        ),
                    )
                    for k, b, n in rv.misses_by(attr)
                ]
            )


class BlockedTab(ReviewTab):
    """3: blocked items (with their blockers) and stuck items."""

    ITEM_TABLES = ("t-blocked", "t-stuck")

    def compose(self) -> ComposeResult:
        yield Static("Blocked", classes="section", id="h-blocked")
        yield ReviewTable(
            "Item",
            "Owner",
            "Status",
            "Blocked by",
            "Blocker owner",
            "Title",
            id="t-blocked",
            classes="grow",
            items=True,
        )
        yield Static("Stuck", classes="section", id="h-stuck")
        yield ReviewTable(
            "Item",
            "Owner",
            "Status",
            "Idle wd",
            "Last event",
            "Title",
            id="t-stuck",
            classes="grow",
            items=True,
        )

    def show(self, rv: WeeklyReview) -> None:
        pal = Palette.of(self.app)
        self._section("h-blocked", f"Blocked ({len(rv.blocked)})")
        self._table("t-blocked").fill(
            [
                (
                    b.key,
                    (
                        lit(b.key),
                        lit(b.owner or "(unowned)", style="" if b.owner else pal.unowned),
                        lit(b.status),
                        lit(", ".join(x.key for x in b.blockers) or "(no blocker recorded)"),
                        lit(", ".join(x.owner or "(unowned)" for x in b.blockers) or "-"),
                        lit(b.title, 50),
                    ),
                )
                for b in rv.blocked
            ]
        )
        self._section(
            "h-stuck", f"Stuck: no event for {rv.stuck_days}+ working days ({rv.counts['stuck']})"
        )
        self._table("t-stuck").fill(
            [
                (
                    s.key,
                    (
                        lit(s.key),
                        lit(s.owner or "(unowned)", style="" if s.owner else pal.unowned),
                        lit(s.status),
                        Text(f"{s.idle_days:g}", style=pal.warn),
                        Text(ts(s.last_event_at)),
                        lit(s.title, 50),
                    ),
                )
                for s in rv.stuck
            ]
        )


class UnownedTab(ReviewTab):
    """4: unowned open items and the process catalog's findings."""

    ITEM_TABLES = ("t-unowned",)

    def compose(self) -> ComposeResult:
        yield Static("Unowned items", classes="section", id="h-unowned")
        yield ReviewTable(
            "Item",
            "Queue",
            "Pri",
            "Status",
            "Created",
            "Title",
            id="t-unowned",
            classes="grow",
            items=True,
        )
        yield Static("Process findings", classes="section", id="h-process")
        yield ReviewTable("Process", "Finding", "Name", id="t-process")

    def show(self, rv: WeeklyReview) -> None:
        pal = Palette.of(self.app)
        self._section("h-unowned", f"Unowned items ({rv.counts['unowned']})")
        self._table("t-unowned").fill(
            [
                (
                    u.key,
                    (
                        lit(u.key),
                        lit(u.queue),
                        Text(f"P{u.priority}", style=pal.bad if u.priority == 1 else ""),
                        lit(u.status),
                        Text(ts(u.created_at)),
                        lit(u.title, 60),
                    ),
                )
                for u in rv.unowned
            ]
        )
        late = f"; {len(rv.late_runs)} late run(s)" if rv.late_runs else ""
        self._section(
            "h-process",
            f"Process findings ({len(rv.process_findings)}, as `opstui processes`){late}",
        )
        self._table("t-process").fill(
            [
                (
                    f"{p.key}:{p.kind}",
                    (lit(p.key), lit(p.finding, style=pal.warn), lit(p.name, 50)),
                )
                for p in rv.process_findings
            ]
            + [
                (
                    f"late:{r.process}:{r.due.isoformat()}",
                    (
                        lit(r.process),
                        Text(f"late run {r.item or '-'}: due {ts(r.due)}", style=pal.bad),
                        lit(r.name, 50),
                    ),
                )
                for r in rv.late_runs
            ]
        )


class ApprovalsTab(ReviewTab):
    """5: pending approvals; the screen's ``a`` / ``x`` act on :meth:`chosen` (the
    marked ones, or the current one) with one note.  Under the table: the current
    request's whole reason and its item's last comments."""

    ITEM_TABLES = ("t-approvals",)

    DEFAULT_CSS = """
    ApprovalsTab #approval-detail { height: auto; max-height: 6; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            "a approve  x reject (marked or current, one note)  space mark  Enter open",
            classes="section",
        )
        yield ReviewTable(
            "Item",
            "Owner",
            "Move to",
            "Reason",
            "By",
            "Requested",
            "Title",
            id="t-approvals",
            classes="grow",
            items=True,
        )
        yield Static("", id="approval-detail")

    def show(self, rv: WeeklyReview) -> None:
        self._approvals = rv.approvals
        pal = Palette.of(self.app)
        self._table("t-approvals").fill(
            [
                (
                    str(a.approval_id),
                    (
                        lit(a.key),
                        lit(a.owner or "(unowned)"),
                        lit(a.to_state, style=pal.info),
                        lit(a.note or "(no reason given)", 24),
                        lit(a.requested_by),
                        Text(ts(a.requested_at)),
                        lit(a.title, 50),
                    ),
                )
                for a in self._approvals
            ]
        )
        self._show_detail()

    @on(DataTable.RowHighlighted, "#t-approvals")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The current request's reason (whole) and its item's last comments, literally."""
        a = self.current()
        text = Text()
        if a is not None:
            text.append("Reason: ", style="bold")
            text.append_text(lit(a.note or "(no reason given)", 300))
            text.append(f"\nLast comments on {a.key}:" if a.comments else "\nNo comments yet")
            for c in a.comments:
                text.append("\n  ")
                text.append_text(lit(f"{c.author}, {ts(c.at)}:", style="dim"))
                text.append(" ")
                text.append_text(lit(c.body, 200))
        self.query_one("#approval-detail", Static).update(text)

    def current_item(self) -> str | None:
        a = self.current()
        return a.key if a else None

    def chosen(self) -> list[PendingApproval]:
        """The marked approvals, or the current one."""
        approvals: tuple[PendingApproval, ...] = getattr(self, "_approvals", ())
        marked = self._table("t-approvals").marked
        picked = [a for a in approvals if str(a.approval_id) in marked]
        if picked:
            return picked
        current = self.current()
        return [current] if current else []

    def current(self) -> PendingApproval | None:
        key = self._table("t-approvals").current_key()
        approvals: tuple[PendingApproval, ...] = getattr(self, "_approvals", ())
        return next((a for a in approvals if str(a.approval_id) == key), None)


class RisksTab(ReviewTab):
    """7: bus factor: skills and processes with who can cover them; the SPOF audit."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="grow"):
            yield ReviewTable("Skill", "People", "#", id="t-skills", classes="half")
            yield ReviewTable("Process", "Owner", "Can cover", "#", id="t-procs", classes="half")
        yield AuditBlock(id="rv-audit")

    def show(self, rv: WeeklyReview) -> None:
        cap = rv.capacity
        pal = Palette.of(self.app)
        self.query_one(AuditBlock).show(rv)
        self._table("t-skills").fill(
            [
                (
                    s.name,
                    (
                        lit(s.name),
                        lit(", ".join(s.people) or "nobody"),
                        Text(str(s.count), style=pal.bad if s.risk else ""),
                    ),
                )
                for s in cap.skills
            ]
        )
        self._table("t-procs").fill(
            [
                (
                    p.name,
                    (
                        lit(p.name),
                        lit(p.owner or "(none)", style="" if p.owner else pal.bad),
                        lit(", ".join(p.people) or "nobody"),
                        Text(str(p.count), style=pal.bad if p.risk else ""),
                    ),
                )
                for p in cap.processes
            ]
        )
