"""The review's agenda: one line per section, in meeting order, each naming its tab.

:func:`agenda` is the only place the agenda is written: the screen's Agenda tab and the
Markdown/HTML reports list these lines, and a new agenda line (drift, deliveries, ...)
is one more ``lines.append`` here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .audit import agenda_note
from .records import WeeklyReview
from .text import change_text, hours_text


@dataclass(frozen=True)
class AgendaLine:
    """One agenda line: ``key`` (stable id), ``label`` (with its number in meeting order
    when it opens a topic), ``count``, a ``note`` and the ``tab`` (pane id) it is about."""

    key: str
    label: str
    count: int
    note: str
    tab: str

    @property
    def title(self) -> str:
        """The label without its meeting-order number."""
        return self.label.strip().split(". ", 1)[-1]


def busiest_text(rv: WeeklyReview) -> str:
    cap = rv.capacity
    if cap.busiest and cap.busiest_share is not None:
        return f"{cap.busiest} holds {cap.busiest_share:.0%} of owned load" + (
            " (warning)" if cap.busiest_warning else ""
        )
    return "no owned open load"


def drift_text(rv: WeeklyReview) -> str:
    """``3 could be saved by moving them to alice, bob`` for the agenda line."""
    if not rv.drifting:
        return "the forecast sees no work missing its date"
    if not rv.rescues:
        return "no move found that brings any back on time"
    to = ", ".join(sorted({m.to_handle for m in rv.rescues}))
    return f"{len(rv.rescues)} could be saved by moving them to {to}"


def agenda(rv: WeeklyReview) -> list[AgendaLine]:
    """Every agenda line of the review ``rv``, in meeting order."""
    cap, c = rv.capacity, rv.counts
    this, prev = rv.this_week, rv.prev_week
    cycle = change_text(this.median_h, prev.median_h if prev else None, unit="h")
    lines = [
        AgendaLine("breaches", "1. SLA breaches", c["breaches"], "by queue and owner", "sla"),
        AgendaLine(
            "near", "   SLA near misses", c["near_misses"], "met with under 20% left", "sla"
        ),
        AgendaLine("blocked", "2. Blocked items", c["blocked"], "and what blocks them", "blocked"),
        AgendaLine(
            "stuck",
            "   Stuck items",
            c["stuck"],
            f"no event for {rv.stuck_days}+ working days",
            "blocked",
        ),
        AgendaLine("unowned", "3. Unowned items", c["unowned"], "give each an owner", "unowned"),
        AgendaLine(
            "procs",
            "   Process findings",
            c["process_findings"],
            "the process catalog's findings",
            "unowned",
        ),
    ]
    late = c.get("late_runs", 0)
    if late:
        lines.append(
            AgendaLine(
                "late",
                "   Late process runs",
                late,
                "occurrences created after their due time",
                "unowned",
            )
        )
    lines += [
        AgendaLine("approvals", "4. Pending approvals", c["approvals"], "decide", "approvals"),
        AgendaLine(
            "overloaded", "5. Overloaded people", len(cap.overloaded), busiest_text(rv), "load"
        ),
        AgendaLine("moves", "   Suggested moves", len(cap.moves), "space + Enter", "load"),
        AgendaLine("drifting", "   Drifting work", c.get("drifting", 0), drift_text(rv), "load"),
        AgendaLine(
            "risks",
            "6. Bus-factor risks",
            len(cap.skill_risks) + len(cap.process_risks),
            ", ".join(x.name for x in (*cap.skill_risks, *cap.process_risks))[:80] or "none",
            "risks",
        ),
    ]
    if rv.audit is not None and rv.audit.defined:
        # the monthly single-point-of-failure audit: coverage; count = single points left
        lines.append(
            AgendaLine("audit", "   SPOF audit", rv.audit.remaining, agenda_note(rv.audit), "risks")
        )
    lines += [
        AgendaLine(
            "done",
            "7. Done in the week",
            this.done,
            f"{change_text(this.done, prev.done if prev else None)} vs week before; "
            f"cycle median {hours_text(this.median_h)} ({cycle})",
            "trends",
        ),
    ]
    people = rv.accuracy.get("person", [])
    if people:
        lines.append(
            AgendaLine(
                "accuracy",
                "   Estimate accuracy",
                sum(a.items for a in people),
                "time logged / estimated, median, 8 weeks: "
                + ", ".join(f"{a.group} {a.median_ratio:g}x" for a in people),
                "load",
            )
        )
    if rv.outbox is not None and rv.outbox.count:
        # connected triggers: what the other tools have not heard (services.outbox)
        lines.append(
            AgendaLine(
                "outbox", "   Failing deliveries", rv.outbox.count, rv.outbox.line(), "agenda"
            )
        )
    minutes = [m for m in rv.decided_last_week if m.kind != "note"]
    if rv.decided_last_week:
        holders = ", ".join(
            f"{m.held_by} on {m.held_at:%a %d %b %H:%M}"
            for m in {(m.held_by, m.held_at): m for m in rv.decided_last_week}.values()
        )
        lines.append(
            AgendaLine("last", "   Decided last week", len(minutes), f"held by {holders}", "agenda")
        )
    elif rv.last_review is not None:
        held = rv.last_review
        lines.append(
            AgendaLine(
                "last",
                "   Decided last week",
                0,
                f"no review recorded for last week (last held by {held.held_by} on "
                f"{held.held_at:%a %d %b %H:%M}, week of {held.week_start:%d %b})",
                "agenda",
            )
        )
    return lines
