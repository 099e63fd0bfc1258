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

    def current_item(self) -> str | None:
        """The key of the item under the cursor of this tab's focused (or first) item
        table; None when the tab's rows are not items."""
        tables = [self._table(t) for t in self.ITEM_TABLES]
        if not tables:
            return None
        focused = self.screen.focused
        table = next((t for t in tables if t is focused), tables[0])
        if not table.row_count:
            return None
        cell = table.get_cell_at((table.cursor_row, 0))
        return getattr(cell, "plain", str(cell)) or None

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
    """1: every agenda line (``services.review.agenda``); Enter jumps to the line's tab."""

    lines: dict[str, AgendaLine] = {}

    @dataclass
    class Jump(Message):
        """Enter on an agenda line: show the tab it is about."""

        tab: str

    @on(DataTable.RowSelected, "#t-agenda")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        tab = self.current_tab()
        if tab is not None:
            self.post_message(self.Jump(tab))

    def compose(self) -> ComposeResult:
        yield Static("Enter on a line opens its tab", classes="section")
        yield ReviewTable("Section", "Count", "Tab", "Notes", id="t-agenda", classes="grow")

    def show(self, rv: WeeklyReview) -> None:
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
            "Item", "Queue", "Pri", "Status", "Created", "Title", id="t-unowned", classes="grow"
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
    selected ones, or the current one) with one note."""

    ITEM_TABLES = ("t-approvals",)
    selected: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static(
            "a approve  x reject (selected or current, one note)  space select  Enter open",
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
        )

    def show(self, rv: WeeklyReview) -> None:
        self._approvals = rv.approvals
        self.selected = self.selected & {str(a.approval_id) for a in rv.approvals}
        self._fill()

    def _fill(self) -> None:
        pal = Palette.of(self.app)
        self._table("t-approvals").fill(
            [
                (
                    str(a.approval_id),
                    (
                        lit(("* " if str(a.approval_id) in self.selected else "") + a.key),
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

    def current_item(self) -> str | None:
        a = self.current()
        return a.key if a else None

    def toggle(self) -> None:
        """Select or unselect the current approval, then go to the next one."""
        table = self._table("t-approvals")
        key = table.current_key()
        if key is None:
            return
        self.selected ^= {key}
        row = table.cursor_row
        self._fill()
        table.move_cursor(row=min(row + 1, table.row_count - 1))

    def chosen(self) -> list[PendingApproval]:
        """The selected approvals, or the current one."""
        approvals: tuple[PendingApproval, ...] = getattr(self, "_approvals", ())
        picked = [a for a in approvals if str(a.approval_id) in self.selected]
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
