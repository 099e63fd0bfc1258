"""The review's tabs, one widget each, in meeting order (tab 6 in :mod:`.load`, tab 8 in
:mod:`.trends`).

Attributes down, messages up: the screen hands each tab the whole immutable
:class:`~opstui.services.review.WeeklyReview` with ``show(review)``; a tab reports what
the user chose with a message (:class:`LoadTab.MovesChosen`).  Colours come from the
theme's app variables (:class:`~.parts.Palette`), read at each ``show``.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from ....services.review import (
    PendingApproval,
    WeeklyReview,
    change_text,
    hours_text,
    margin_text,
)
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

    def show(self, rv: WeeklyReview) -> None:
        raise NotImplementedError

    def first_table(self) -> DataTable[object] | None:
        tables = list(self.query(DataTable))
        return tables[0] if tables else None

    def _section(self, widget_id: str, text: str | Text) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    def _table(self, table_id: str) -> ReviewTable:
        return self.query_one(f"#{table_id}", ReviewTable)


def busiest_text(rv: WeeklyReview) -> str:
    cap = rv.capacity
    if cap.busiest and cap.busiest_share is not None:
        return f"{cap.busiest} holds {cap.busiest_share:.0%} of owned load" + (
            " (warning)" if cap.busiest_warning else ""
        )
    return "no owned open load"


def drift_text(rv: WeeklyReview) -> str:
    """``3 could be saved by moving them to alice, bob (tab 6)`` for the agenda line."""
    if not rv.drifting:
        return "the forecast sees no work missing its date"
    if not rv.rescues:
        return "no move found that brings any back on time"
    to = ", ".join(sorted({m.to_handle for m in rv.rescues}))
    return f"{len(rv.rescues)} could be saved by moving them to {to} (tab 6)"


class AgendaTab(ReviewTab):
    """1: every section's count with a note, in meeting order."""

    def compose(self) -> ComposeResult:
        yield ReviewTable("Section", "Count", "Notes", id="t-agenda", classes="grow")

    def show(self, rv: WeeklyReview) -> None:
        cap, c = rv.capacity, rv.counts
        this, prev = rv.this_week, rv.prev_week
        cycle = change_text(this.median_h, prev.median_h if prev else None, unit="h")
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
                "from the process catalog (tab 4)",
            ),
            ("approvals", "4. Pending approvals", c["approvals"], "a / x on tab 5"),
            ("overloaded", "5. Overloaded people", len(cap.overloaded), busiest_text(rv)),
            ("moves", "   Suggested moves", len(cap.moves), "space + Enter on tab 6"),
            ("drifting", "   Drifting work", c.get("drifting", 0), drift_text(rv)),
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
                f"{change_text(this.done, prev.done if prev else None)} vs week before; "
                f"cycle median {hours_text(this.median_h)} ({cycle})",
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
        self._table("t-agenda").fill(
            [
                (k, (Text(label), Text(str(n), style="bold" if n else "dim"), lit(note)))
                for k, label, n, note in agenda
            ]
        )


class SlaTab(ReviewTab):
    """2: SLA breaches and near misses, then both counted by queue and by owner."""

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
        self._section(
            "h-process", f"Process findings ({len(rv.process_findings)}, as `opstui processes`)"
        )
        self._table("t-process").fill(
            [
                (
                    f"{p.key}:{p.kind}",
                    (lit(p.key), lit(p.finding, style=pal.warn), lit(p.name, 50)),
                )
                for p in rv.process_findings
            ]
        )


class ApprovalsTab(ReviewTab):
    """5: pending approvals; the screen's ``a`` / ``x`` act on :meth:`current`."""

    def compose(self) -> ComposeResult:
        yield Static("a: approve   x: reject (each asks for an optional note)", classes="section")
        yield ReviewTable(
            "Item",
            "Owner",
            "Move to",
            "Requested",
            "By",
            "Title",
            "Note",
            id="t-approvals",
            classes="grow",
        )

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
                        Text(ts(a.requested_at)),
                        lit(a.requested_by),
                        lit(a.title, 50),
                        lit(a.note, 30),
                    ),
                )
                for a in rv.approvals
            ]
        )

    def current(self) -> PendingApproval | None:
        key = self._table("t-approvals").current_key()
        approvals: tuple[PendingApproval, ...] = getattr(self, "_approvals", ())
        return next((a for a in approvals if str(a.approval_id) == key), None)


class RisksTab(ReviewTab):
    """7: bus factor: skills and processes with who can cover them."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="grow"):
            yield ReviewTable("Skill", "People", "#", id="t-skills", classes="half")
            yield ReviewTable("Process", "Owner", "Can cover", "#", id="t-procs", classes="half")

    def show(self, rv: WeeklyReview) -> None:
        cap = rv.capacity
        pal = Palette.of(self.app)
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
