"""The review's sections: store rows (or another service's snapshot) turned into records.

The meaning of each section is in the package's docstring (:mod:`opstui.services.review`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from ...domain import figures
from ...domain import workflow as wfl
from ...store import review_queries as rq
from ..processes.catalog import ProcessCatalog
from .records import (
    NEAR_MISS_LEFT,
    TREND_WEEKS,
    WEEK,
    ApprovalComment,
    BlockedItem,
    Blocker,
    HeldReview,
    LateRun,
    Minute,
    PendingApproval,
    ProcessFinding,
    QueueCycle,
    SlaMiss,
    StuckItem,
    UnownedItem,
    WeekStat,
)

percentile = figures.percentile


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _in(t: datetime | None, start: datetime, end: datetime) -> bool:
    return t is not None and start <= t < end


def sla_misses(
    conn: Connection, start: datetime, end: datetime
) -> tuple[list[SlaMiss], list[SlaMiss]]:
    """(breaches, near misses) of the week ``[start, end)``."""
    breaches: list[SlaMiss] = []
    near: list[SlaMiss] = []
    seen: set[tuple[int, str]] = set()
    for r in rq.sla_candidates(conn, start, end, WEEK):
        for target, due, met in (
            ("first response", r.sla_fr_due, r.first_response_at),
            ("resolution", r.sla_res_due, r.resolved_at),
            ("due date", r.due_at, r.resolved_at),
        ):
            if due is None:
                continue
            base = dict(
                key=r.key,
                title=r.title,
                queue=r.queue,
                owner=r.owner,
                target=target,
                due=due,
                met_at=met,
                source="sla",
            )
            if (met is None or met > due) and _in(due, start, end):
                late = ((met or end) - due).total_seconds()
                breaches.append(SlaMiss(outcome="breached", margin_s=late, **base))  # type: ignore[arg-type]
                seen.add((r.id, target))
            elif met is not None and met > due and _in(met, start, end) and due < start:
                # breached before the week, met late during it: still a breach of this week
                breaches.append(
                    SlaMiss(outcome="breached", margin_s=(met - due).total_seconds(), **base)
                )  # type: ignore[arg-type]
                seen.add((r.id, target))
            elif met is not None and met <= due and _in(met, start, end):
                window = (due - r.created_at).total_seconds()
                left = (due - met).total_seconds()
                if window > 0 and left < NEAR_MISS_LEFT * window:
                    near.append(SlaMiss(outcome="near miss", margin_s=left, **base))  # type: ignore[arg-type]
                    seen.add((r.id, target))
    # events from the SLA engine
    breached_items = {(m.key) for m in breaches}
    for e in rq.sla_crossing_events(conn, start, end):
        label = " ".join(f"{e.old or ''} {e.new or ''}".lower().replace("_", " ").split())
        target = (
            "first response"
            if ("first" in label or "fr" in label.split())
            else "resolution"
            if ("resol" in label or "res" in label.split())
            else "sla"
        )
        keyed = (e.item_id, target)
        if keyed in seen or (target == "sla" and any(k[0] == e.item_id for k in seen)):
            continue
        seen.add(keyed)
        base = dict(
            key=e.key,
            title=e.title,
            queue=e.queue,
            owner=e.owner,
            target=target,
            due=None,
            met_at=None,
            margin_s=None,
            source="event",
        )
        if e.field == "sla_breached":
            breaches.append(SlaMiss(outcome="breached", **base))  # type: ignore[arg-type]
            breached_items.add(e.key)
        elif e.key not in breached_items:
            near.append(SlaMiss(outcome="near miss", **base))  # type: ignore[arg-type]
    breaches.sort(key=lambda m: (m.due or end, m.key))
    near.sort(key=lambda m: (m.due or end, m.key))
    return breaches, near


def blocked_items(conn: Connection) -> list[BlockedItem]:
    """Open items with an open blocker, then open items in ``blocked`` without one."""
    grouped: dict[int, tuple[Any, list[Blocker]]] = {}
    for r in rq.blocked_links(conn):
        grouped.setdefault(r.id, (r, []))[1].append(
            Blocker(r.b_key, r.b_title, r.b_owner, r.b_status)
        )
    out = [
        BlockedItem(r.key, r.title, r.queue, r.owner, r.status, tuple(bs))
        for r, bs in grouped.values()
    ]
    out += [
        BlockedItem(r.key, r.title, r.queue, r.owner, r.status, ())
        for r in rq.in_blocked_state(conn)
        if r.id not in grouped
    ]
    return out


def stuck_items(
    conn: Connection, now: datetime, stuck_days: int, holidays: frozenset[date]
) -> list[StuckItem]:
    """Open items without an event for ``stuck_days`` working days, idlest first."""
    out = []
    for r in rq.open_item_activity(conn):
        last = max(t for t in (r.last_ts, r.updated_at) if t is not None)
        idle = figures.working_days_between(last, now, holidays)
        if figures.idle_is_stuck(idle, stuck_days):
            out.append(StuckItem(r.key, r.title, r.queue, r.owner, r.status, last, round(idle, 1)))
    return sorted(out, key=lambda s: (-s.idle_days, s.key))


def unowned_items(conn: Connection) -> list[UnownedItem]:
    return [UnownedItem(**dict(r._mapping)) for r in rq.unowned_open(conn)]


def process_findings(catalog: ProcessCatalog) -> list[ProcessFinding]:
    """The process catalog's findings (one definition: ``opstui processes`` counts the same),
    with the process name; the finding text without its leading ``key: ``."""
    names = {p.key: p.name for p in catalog.processes}
    out = []
    for f in catalog.findings:
        key = f.process or ""
        text = f.text.removeprefix(f"{key}: ") if key else f.text
        out.append(ProcessFinding(key, names.get(key, ""), text, f.kind))
    return out


def late_runs(conn: Connection, start: datetime, end: datetime) -> list[LateRun]:
    """Process occurrences created in the week after their due time
    (``workflow.is_late``: the same rule that marks their items late)."""
    return [
        LateRun(r.process, r.name, r.item, r.occurrence_at, r.created_at)
        for r in rq.process_runs_created(conn, start, end)
        if wfl.is_late(r.occurrence_at, r.created_at)
    ]


#: How many of an item's last comments an approval shows.
APPROVAL_COMMENTS = 3


def pending_approvals(conn: Connection) -> list[PendingApproval]:
    """Pending approvals, each with the item's last :data:`APPROVAL_COMMENTS` comments."""
    rows = rq.pending_approvals(conn)
    comments = rq.last_comments(conn, sorted({r.key for r in rows}), APPROVAL_COMMENTS)
    return [
        PendingApproval(
            **dict(r._mapping),
            comments=tuple(
                ApprovalComment(c.author or "?", c.body or "", c.created_at)
                for c in comments.get(r.key, ())
            ),
        )
        for r in rows
    ]


def decided_last_week(conn: Connection, start: datetime, upto: datetime) -> list[Minute]:
    """The minutes of the reviews held for the week before ``start``: reviews whose
    reviewed week ended within half a week of ``start`` (a weekly review held a day early
    or late still counts; this week's own records do not), held before ``upto`` (a past
    week's review shows nothing recorded after it)."""
    out: list[Minute] = []
    half = WEEK / 2
    for r in rq.reviews_ended_between(conn, start - half, start + half, upto):
        for d in r.decisions or []:
            if not isinstance(d, dict):
                continue
            try:
                at = datetime.fromisoformat(str(d.get("at")))
            except ValueError:
                at = r.held_at
            if at.tzinfo is None:
                at = at.replace(tzinfo=r.held_at.tzinfo)
            kind = str(d.get("kind") or "?")
            detail = d.get("text") if kind == "note" else d.get("detail")
            out.append(
                Minute(r.held_by, r.held_at, kind, str(d.get("item") or ""), str(detail or ""), at)
            )
    return out


def trends(
    conn: Connection, end: datetime, weeks: int = TREND_WEEKS, *, upto: datetime | None = None
) -> tuple[list[WeekStat], list[QueueCycle]]:
    """Done items per week and their cycle times for the ``weeks`` weeks ending at ``end``
    (``upto``: exclusive bound of what counts, default ``end``)."""
    upto = upto or end
    first = end - weeks * WEEK
    bins: list[list[float]] = [[] for _ in range(weeks)]
    per_queue: dict[str, list[tuple[int, float]]] = {}
    for slug, created, resolved in rq.done_between(conn, first, upto):
        idx = min(weeks - 1, int((resolved - first) / WEEK))
        hours = figures.cycle_hours(created, resolved)
        bins[idx].append(hours)
        per_queue.setdefault(slug, []).append((idx, hours))
    stats = [
        WeekStat(first + i * WEEK, first + (i + 1) * WEEK, len(b), _median(b), percentile(b, 85))
        for i, b in enumerate(bins)
    ]
    queues = []
    for slug in rq.queue_slugs(conn):
        vals = per_queue.get(slug, [])
        hours = [h for _, h in vals]
        queues.append(
            QueueCycle(
                queue=slug,
                done=len(hours),
                median_h=_median(hours),
                p85_h=percentile(hours, 85),
                week_median_h=_median([h for i, h in vals if i == weeks - 1]),
                prev_week_median_h=_median([h for i, h in vals if i == weeks - 2]),
            )
        )
    return stats, queues


def last_review(conn: Connection) -> HeldReview | None:
    r = rq.newest_review(conn)
    if r is None:
        return None
    return HeldReview(r.held_by, r.held_at, r.week_start, len(r.decisions or []))
