"""The review as Markdown (``opstui review --markdown``) and JSON (``--json``), and the
small text helpers the screen shares with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ...domain.text import one_line
from .. import capacity as capacity_svc
from ..processes.audit import status_json as audit_json
from . import audit as audit_view
from .agenda import agenda
from .records import SlaMiss, WeeklyReview
from .text import bar, change_text, hours_text, margin_text


def _ts(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    text = one_line("" if value is None else str(value))
    return text.replace("|", "\\|") or " "


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> list[str]:
    if not rows:
        return [f"_{empty}_", ""]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def to_markdown(rv: WeeklyReview) -> str:
    cap = rv.capacity
    lines = [
        f"# Weekly review: {rv.start:%Y-%m-%d %H:%M} to {rv.end:%Y-%m-%d %H:%M} UTC",
        "",
        f"Generated {_ts(rv.now)} UTC. SLA and trends cover the week; work in hand is as of now.",
        "",
        "## Summary",
        "",
    ]
    this, prev = rv.this_week, rv.prev_week
    summary = [(line.title, line.count, line.note) for line in agenda(rv)]
    lines += _table(("What", "Count", "Notes"), summary, "nothing")

    def miss_rows(misses: Sequence[SlaMiss]) -> list[tuple[str, ...]]:
        return [
            (
                m.key,
                one_line(m.title, 60),
                m.queue,
                m.owner or "(unowned)",
                m.target,
                _ts(m.due),
                _ts(m.met_at) if m.met_at else "not yet",
                margin_text(m.margin_s),
            )
            for m in misses
        ]

    miss_head = ("Item", "Title", "Queue", "Owner", "Target", "Due", "Met")
    lines += ["## SLA breaches", ""]
    lines += _table((*miss_head, "Late by"), miss_rows(rv.breaches), "No SLA breaches this week.")
    lines += ["## SLA near misses", ""]
    lines += _table(
        (*miss_head, "Time left"), miss_rows(rv.near_misses), "No near misses this week."
    )
    lines += ["### Breaches and near misses by queue", ""]
    lines += _table(("Queue", "Breaches", "Near misses"), rv.misses_by("queue"), "None.")
    lines += ["### Breaches and near misses by owner", ""]
    lines += _table(("Owner", "Breaches", "Near misses"), rv.misses_by("owner"), "None.")
    lines += ["## Blocked items", ""]
    lines += _table(
        ("Item", "Title", "Owner", "Status", "Blocked by", "Blocker owner", "Blocker status"),
        [
            (
                b.key,
                one_line(b.title, 60),
                b.owner or "(unowned)",
                b.status,
                ", ".join(x.key for x in b.blockers) or "(no blocker recorded)",
                ", ".join(x.owner or "(unowned)" for x in b.blockers) or "-",
                ", ".join(x.status for x in b.blockers) or "-",
            )
            for b in rv.blocked
        ],
        "Nothing is blocked.",
    )
    lines += [f"## Stuck items (no event for {rv.stuck_days}+ working days)", ""]
    lines += _table(
        ("Item", "Title", "Queue", "Owner", "Status", "Last event", "Idle (working days)"),
        [
            (
                s.key,
                one_line(s.title, 60),
                s.queue,
                s.owner or "(unowned)",
                s.status,
                _ts(s.last_event_at),
                f"{s.idle_days:g}",
            )
            for s in rv.stuck
        ],
        "Nothing is stuck.",
    )
    lines += ["## Unowned items", ""]
    lines += _table(
        ("Item", "Title", "Queue", "Priority", "Status", "Created", "Next due"),
        [
            (
                u.key,
                one_line(u.title, 60),
                u.queue,
                f"P{u.priority}",
                u.status,
                _ts(u.created_at),
                _ts(u.next_due_at),
            )
            for u in rv.unowned
        ],
        "Every open item has an owner.",
    )
    lines += ["## Process findings", ""]
    lines += _table(
        ("Process", "Name", "Finding"),
        [(p.key, p.name, p.finding) for p in rv.process_findings],
        "Every process has an owner, a trigger and a runbook.",
    )
    if rv.late_runs:
        lines += ["### Late process runs (created after their due time)", ""]
        lines += _table(
            ("Process", "Item", "Due", "Created"),
            [(r.process, r.item or "-", _ts(r.due), _ts(r.created)) for r in rv.late_runs],
            "",
        )
    lines += ["## Pending approvals", ""]
    lines += _table(
        (
            "Item",
            "Title",
            "Owner",
            "Move to",
            "Requested by",
            "Requested at",
            "Reason",
            "Last comments",
        ),
        [
            (
                a.key,
                one_line(a.title, 60),
                a.owner or "(unowned)",
                a.to_state,
                a.requested_by,
                _ts(a.requested_at),
                one_line(a.note, 60),
                " / ".join(f"{c.author}: {one_line(c.body, 60)}" for c in a.comments) or "-",
            )
            for a in rv.approvals
        ],
        "No approvals waiting.",
    )
    lines += [f"## Load per person ({cap.window_start:%a %d %b} to {cap.window_end:%a %d %b})", ""]
    if cap.busiest and cap.busiest_share is not None:
        flag = " **warning: one person carries the team**" if cap.busiest_warning else ""
        lines += [
            f"Busiest: {cap.busiest} holds {cap.busiest_share:.0%} of the owned open load "
            f"({cap.total_load_hours:g}h of work, {cap.total_available_hours:g}h available).{flag}",
            "",
        ]
    top = max((p.utilisation or 0 for p in cap.people), default=0) or 1
    lines += _table(
        ("Person", "Open", "Load", "Available", "Load % of available hours", "Chart", "Flag"),
        [
            (
                p.handle,
                p.open_items,
                f"{p.load_hours:g}h",
                f"{p.available_hours:g}h",
                f"{p.utilisation:.0%}" if p.utilisation is not None else "-",
                bar(p.utilisation or 0, max(top, 1.0), 12),
                "OVERLOADED"
                if p.overloaded
                else (
                    "inactive" if not p.active else (f"away {p.away_days}d" if p.away_days else "")
                ),
            )
            for p in cap.people
        ],
        "No people.",
    )
    lines += ["### Rebalancing suggestions", ""]
    lines += _table(
        ("Item", "Title", "Hours", "From", "To", "Why"),
        [
            (m.key, one_line(m.title, 60), f"{m.hours:g}h", m.from_handle, m.to_handle, m.reason)
            for m in cap.moves
        ],
        "No moves needed." if not cap.overloaded else "No move found.",
    )
    if cap.unresolved:
        lines += _table(("Still overloaded", "Why"), list(cap.unresolved), "")
    lines += ["### Drifting work", ""]
    lines += _table(
        ("Item", "Title", "Owner", "Forecast", "Saved by"),
        [
            (
                d.key,
                one_line(d.title, 60),
                d.owner or "(unowned)",
                d.forecast,
                next((f"move to {m.to_handle}" for m in rv.rescues if m.key == d.key), "-"),
            )
            for d in rv.drifting
        ],
        "Nothing drifts." if rv.end >= rv.now else "Not forecast for a past week.",
    )
    lines += ["## Bus-factor risks", ""]
    lines += _table(
        ("Skill", "People", "Risk"),
        [
            (c.name, ", ".join(c.people) or "nobody", "uncovered" if c.count == 0 else "one person")
            for c in cap.skill_risks
        ],
        "Every skill has at least two people.",
    )
    lines += _table(
        ("Process", "Owner", "Skills", "Can cover", "Risk"),
        [
            (
                c.name,
                c.owner or "(none)",
                ", ".join(c.skills) or "-",
                ", ".join(c.people) or "nobody",
                "uncovered" if c.count == 0 else "one person",
            )
            for c in cap.process_risks
        ],
        "Every process has at least two people who can run it.",
    )
    if rv.audit is not None and rv.audit.defined:
        lines += [
            f"## Single-point audit ({rv.audit.month})",
            "",
            audit_view.coverage_text(rv.audit),
            "",
        ]
        lines += _table(audit_view.HEADERS, audit_view.rows(rv.audit), "No single points remain.")
    lines += [f"## Throughput and cycle time ({len(rv.weeks)} weeks)", ""]
    top_done = max((w.done for w in rv.weeks), default=0)
    lines += _table(
        ("Week starting", "Done", "Chart", "Cycle median", "Cycle p85"),
        [
            (
                f"{w.start:%Y-%m-%d}",
                w.done,
                bar(w.done, top_done, 20),
                hours_text(w.median_h),
                hours_text(w.p85_h),
            )
            for w in rv.weeks
        ],
        "No history.",
    )
    lines += ["Change against the week before:", ""]
    lines += _table(
        ("Measure", "This week", "Week before", "Change"),
        [
            (
                "Done",
                this.done,
                prev.done if prev else "-",
                change_text(this.done, prev.done if prev else None),
            ),
            (
                "Cycle median",
                hours_text(this.median_h),
                hours_text(prev.median_h if prev else None),
                change_text(this.median_h, prev.median_h if prev else None, unit="h"),
            ),
            (
                "Cycle p85",
                hours_text(this.p85_h),
                hours_text(prev.p85_h if prev else None),
                change_text(this.p85_h, prev.p85_h if prev else None, unit="h"),
            ),
        ],
        "",
    )
    lines += ["### Cycle time per queue", ""]
    lines += _table(
        ("Queue", "Done (8 wk)", "Median", "p85", "This week median", "Week before", "Change"),
        [
            (
                c.queue,
                c.done,
                hours_text(c.median_h),
                hours_text(c.p85_h),
                hours_text(c.week_median_h),
                hours_text(c.prev_week_median_h),
                change_text(c.week_median_h, c.prev_week_median_h, unit="h"),
            )
            for c in rv.queues
        ],
        "No queues.",
    )
    lines += ["## Decided last week", ""]
    lines += _table(
        ("When", "Held by", "Decision", "Item", "Detail"),
        [
            (_ts(m.at), m.held_by, m.kind, m.item or "-", one_line(m.detail, 120))
            for m in rv.decided_last_week
        ],
        "No review was recorded for the week before.",
    )
    if rv.last_review:
        h = rv.last_review
        lines += [
            f"_Last review held by {one_line(h.held_by)} at {_ts(h.held_at)} UTC "
            f"(week of {h.week_start:%Y-%m-%d}, {h.decisions} decision(s))._",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def to_json(rv: WeeklyReview) -> dict[str, Any]:
    def miss(m: SlaMiss) -> dict[str, Any]:
        return {
            "item": m.key,
            "title": m.title,
            "queue": m.queue,
            "owner": m.owner,
            "target": m.target,
            "outcome": m.outcome,
            "due": m.due,
            "met_at": m.met_at,
            "margin_minutes": None if m.margin_s is None else round(m.margin_s / 60, 1),
            "source": m.source,
        }

    return {
        "week": {"start": rv.start, "end": rv.end},
        "now": rv.now,
        "counts": rv.counts,
        "sla": {
            "breaches": [miss(m) for m in rv.breaches],
            "near_misses": [miss(m) for m in rv.near_misses],
            "by_queue": [
                {"queue": k, "breaches": b, "near_misses": n} for k, b, n in rv.misses_by("queue")
            ],
            "by_owner": [
                {"owner": k, "breaches": b, "near_misses": n} for k, b, n in rv.misses_by("owner")
            ],
        },
        "blocked": [
            {
                "item": b.key,
                "title": b.title,
                "queue": b.queue,
                "owner": b.owner,
                "status": b.status,
                "blocked_by": [
                    {"item": x.key, "title": x.title, "owner": x.owner, "status": x.status}
                    for x in b.blockers
                ],
            }
            for b in rv.blocked
        ],
        "stuck": [
            {
                "item": s.key,
                "title": s.title,
                "queue": s.queue,
                "owner": s.owner,
                "status": s.status,
                "last_event_at": s.last_event_at,
                "idle_working_days": s.idle_days,
            }
            for s in rv.stuck
        ],
        "unowned": [
            {
                "item": u.key,
                "title": u.title,
                "queue": u.queue,
                "priority": f"P{u.priority}",
                "status": u.status,
                "created_at": u.created_at,
                "next_due_at": u.next_due_at,
            }
            for u in rv.unowned
        ],
        "estimate_accuracy": {
            group: [
                {"who": x.group, "items": x.items, "median_logged_over_estimate": x.median_ratio}
                for x in rows
            ]
            for group, rows in rv.accuracy.items()
        },
        "outbox_failing": (
            {
                "count": rv.outbox.count,
                "dead": rv.outbox.dead,
                "since": rv.outbox.since,
                "hook": rv.outbox.hook,
                "error": rv.outbox.error,
                "text": rv.outbox.line(),
            }
            if rv.outbox is not None and rv.outbox.count
            else None
        ),
        "process_findings": [
            {"process": p.key, "name": p.name, "finding": p.finding, "kind": p.kind}
            for p in rv.process_findings
        ],
        "late_runs": [
            {"process": r.process, "item": r.item, "due": r.due, "created": r.created}
            for r in rv.late_runs
        ],
        "approvals": [
            {
                "id": a.approval_id,
                "item": a.key,
                "title": a.title,
                "owner": a.owner,
                "to_state": a.to_state,
                "requested_by": a.requested_by,
                "requested_at": a.requested_at,
                "note": a.note,
                "comments": [{"author": c.author, "body": c.body, "at": c.at} for c in a.comments],
            }
            for a in rv.approvals
        ],
        "capacity": capacity_svc.report_json(rv.capacity),
        "audit": None if rv.audit is None else audit_json(rv.audit),
        "drifting": [
            {
                "item": d.key,
                "title": d.title,
                "owner": d.owner,
                "forecast": d.forecast,
                "rescue": next(
                    ({"to": m.to_handle, "reason": m.reason} for m in rv.rescues if m.key == d.key),
                    None,
                ),
            }
            for d in rv.drifting
        ],
        "throughput": [
            {
                "week_start": w.start,
                "week_end": w.end,
                "done": w.done,
                "cycle_median_hours": None if w.median_h is None else round(w.median_h, 2),
                "cycle_p85_hours": None if w.p85_h is None else round(w.p85_h, 2),
            }
            for w in rv.weeks
        ],
        "cycle_by_queue": [
            {
                "queue": c.queue,
                "done": c.done,
                "median_hours": None if c.median_h is None else round(c.median_h, 2),
                "p85_hours": None if c.p85_h is None else round(c.p85_h, 2),
                "week_median_hours": None if c.week_median_h is None else round(c.week_median_h, 2),
                "prev_week_median_hours": None
                if c.prev_week_median_h is None
                else round(c.prev_week_median_h, 2),
            }
            for c in rv.queues
        ],
        "decided_last_week": [
            {
                "held_by": m.held_by,
                "held_at": m.held_at,
                "kind": m.kind,
                "item": m.item or None,
                "detail": m.detail,
                "at": m.at,
            }
            for m in rv.decided_last_week
        ],
        "last_review": None
        if rv.last_review is None
        else {
            "held_by": rv.last_review.held_by,
            "held_at": rv.last_review.held_at,
            "week_start": rv.last_review.week_start,
            "decisions": rv.last_review.decisions,
        },
    }
