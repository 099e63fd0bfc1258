"""The weekly review: one agenda for a 30-minute meeting, as immutable records.

What each section means (the screen, ``--markdown`` and ``--json`` share these rules):

* **Week**: ``[start, end)``; by default the seven days ending now, or seven days from a
  chosen date (00:00 UTC), never later than now.  Sections about the *week* (SLA,
  throughput) use it; sections about *work in hand* (blocked, stuck, unowned, approvals,
  load, bus factor) are as of now, because that is what the meeting can act on.
* **SLA breaches**: a first-response or resolution target whose due time passed in the
  week without being met (or was met late), from the cached ``sla_*_due`` columns against
  ``first_response_at`` / ``resolved_at``; an explicit due date missed in the week counts
  too.  ``sla_breached`` events written by the SLA engine in the week are added when the
  columns do not already explain them.
* **Near misses**: a target met in the week with less than :data:`NEAR_MISS_LEFT` of its
  window left (window = created -> due), plus ``sla_warning`` events of items that were not
  breached.
* **Blocked**: open items with an open blocker (``blocks`` links), and open items in a state
  called ``blocked`` without a recorded blocker.
* **Stuck**: open items without any event for ``stuck_days`` working days (config).
* **Throughput**: items reaching a done state per week; **cycle time**: created -> resolved
  of those items, median and 85th percentile (nearest rank), over :data:`TREND_WEEKS` weeks.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..domain import models
from ..domain.capacity import CapacityReport, working_days_between
from ..domain.text import one_line
from ..errors import ValidationError
from ..store.engine import Database
from . import capacity as capacity_svc
from .context import writing

ITEM = models.Item.__table__
PERSON = models.Person.__table__
QUEUE = models.Queue.__table__
EVENT = models.Event.__table__
LINK = models.ItemLink.__table__
APPROVAL = models.Approval.__table__
PROCESS = models.Process.__table__
REVIEW = models.Review.__table__

NEAR_MISS_LEFT = 0.2
TREND_WEEKS = 8
WEEK = timedelta(days=7)
MAX_ROWS = 200  # per section: a meeting cannot read more; counts stay exact


# --- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaMiss:
    key: str
    title: str
    queue: str
    owner: str | None
    target: str  # "first response" | "resolution" | "due date" | "sla"
    outcome: str  # "breached" | "near miss"
    due: datetime | None
    met_at: datetime | None
    #: Seconds late (breach) or left (near miss); None when unknown (event only).
    margin_s: float | None
    source: str  # "sla" (cached columns) | "event"


@dataclass(frozen=True)
class Blocker:
    key: str
    title: str
    owner: str | None
    status: str


@dataclass(frozen=True)
class BlockedItem:
    key: str
    title: str
    queue: str
    owner: str | None
    status: str
    blockers: tuple[Blocker, ...]


@dataclass(frozen=True)
class StuckItem:
    key: str
    title: str
    queue: str
    owner: str | None
    status: str
    last_event_at: datetime
    idle_days: float


@dataclass(frozen=True)
class UnownedItem:
    key: str
    title: str
    queue: str
    priority: int
    status: str
    created_at: datetime
    next_due_at: datetime | None
    version: int


@dataclass(frozen=True)
class ProcessFinding:
    key: str
    name: str
    finding: str


@dataclass(frozen=True)
class PendingApproval:
    approval_id: int
    key: str
    title: str
    owner: str | None
    to_state: str
    requested_by: str
    requested_at: datetime
    note: str
    version: int


@dataclass(frozen=True)
class WeekStat:
    start: datetime
    end: datetime
    done: int
    median_h: float | None
    p85_h: float | None


@dataclass(frozen=True)
class QueueCycle:
    queue: str
    done: int
    median_h: float | None
    p85_h: float | None
    week_median_h: float | None
    prev_week_median_h: float | None


@dataclass(frozen=True)
class HeldReview:
    held_by: str
    held_at: datetime
    week_start: datetime
    decisions: int


@dataclass(frozen=True)
class WeeklyReview:
    now: datetime
    start: datetime
    end: datetime
    stuck_days: int
    breaches: tuple[SlaMiss, ...]
    near_misses: tuple[SlaMiss, ...]
    blocked: tuple[BlockedItem, ...]
    stuck: tuple[StuckItem, ...]
    unowned: tuple[UnownedItem, ...]
    process_findings: tuple[ProcessFinding, ...]
    approvals: tuple[PendingApproval, ...]
    capacity: CapacityReport
    weeks: tuple[WeekStat, ...]
    queues: tuple[QueueCycle, ...]
    last_review: HeldReview | None = None
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)

    @property
    def this_week(self) -> WeekStat:
        return self.weeks[-1]

    @property
    def prev_week(self) -> WeekStat | None:
        return self.weeks[-2] if len(self.weeks) > 1 else None

    def misses_by(self, attr: str) -> list[tuple[str, int, int]]:
        """(queue or owner, breaches, near misses), most breaches first."""
        b = Counter(getattr(m, attr) or "(unowned)" for m in self.breaches)
        n = Counter(getattr(m, attr) or "(unowned)" for m in self.near_misses)
        names = set(b) | set(n)
        return sorted(((k, b[k], n[k]) for k in names), key=lambda r: (-r[1], -r[2], r[0]))


# --- week ----------------------------------------------------------------------------


def week_bounds(now: datetime, start: date | str | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of the reviewed week (see the module doc)."""
    if start is None:
        return now - WEEK, now
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            raise ValidationError(f"--week wants a date like 2026-11-30 (got {start!r})") from None
    begin = datetime.combine(start, time(0), UTC)
    if begin >= now:
        raise ValidationError(f"the week starting {start.isoformat()} has not started yet")
    return begin, min(begin + WEEK, now)


# --- helpers -------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _in(t: datetime | None, start: datetime, end: datetime) -> bool:
    return t is not None and start <= t < end


OWNER = PERSON.alias("owner")


def _items_from() -> Any:
    return ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id).outerjoin(
        OWNER, OWNER.c.id == ITEM.c.owner_id
    )


# --- sections ------------------------------------------------------------------------


def sla_misses(
    conn: Connection, start: datetime, end: datetime
) -> tuple[list[SlaMiss], list[SlaMiss]]:
    cols = (
        ITEM.c.id,
        ITEM.c.key,
        ITEM.c.title,
        QUEUE.c.slug.label("queue"),
        OWNER.c.handle.label("owner"),
        ITEM.c.created_at,
        ITEM.c.first_response_at,
        ITEM.c.resolved_at,
        ITEM.c.sla_fr_due,
        ITEM.c.sla_res_due,
        ITEM.c.due_at,
    )
    rows = conn.execute(
        select(*cols)
        .select_from(_items_from())
        .where(
            (ITEM.c.sla_fr_due < end) & (ITEM.c.sla_fr_due >= start - WEEK)
            | (ITEM.c.sla_res_due < end) & (ITEM.c.sla_res_due >= start - WEEK)
            | (ITEM.c.due_at < end) & (ITEM.c.due_at >= start - WEEK)
            | ITEM.c.first_response_at.between(start, end)
            | ITEM.c.resolved_at.between(start, end)
        )
    ).all()
    breaches: list[SlaMiss] = []
    near: list[SlaMiss] = []
    seen: set[tuple[int, str]] = set()
    for r in rows:
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
    ev = conn.execute(
        select(EVENT.c.item_id, EVENT.c.field, EVENT.c.old, EVENT.c.new, *cols[1:5])
        .select_from(
            EVENT.join(ITEM, ITEM.c.id == EVENT.c.item_id)
            .join(QUEUE, QUEUE.c.id == ITEM.c.queue_id)
            .outerjoin(OWNER, OWNER.c.id == ITEM.c.owner_id)
        )
        .where(
            EVENT.c.field.in_(("sla_breached", "sla_warning")),
            EVENT.c.ts >= start,
            EVENT.c.ts < end,
        )
        .order_by(EVENT.c.id)
    ).all()
    breached_items = {(m.key) for m in breaches}
    for e in ev:
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
    src = ITEM.alias("src")
    src_owner = PERSON.alias("src_owner")
    rows = conn.execute(
        select(
            ITEM.c.id,
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
            src.c.key.label("b_key"),
            src.c.title.label("b_title"),
            src_owner.c.handle.label("b_owner"),
            src.c.status.label("b_status"),
        )
        .select_from(
            _items_from()
            .join(LINK, (LINK.c.dst_id == ITEM.c.id) & (LINK.c.kind == "blocks"))
            .join(src, src.c.id == LINK.c.src_id)
            .outerjoin(src_owner, src_owner.c.id == src.c.owner_id)
        )
        .where(ITEM.c.category != "done", src.c.category != "done")
        .order_by(ITEM.c.priority, ITEM.c.id, src.c.id)
    ).all()
    grouped: dict[int, tuple[Any, list[Blocker]]] = {}
    for r in rows:
        grouped.setdefault(r.id, (r, []))[1].append(
            Blocker(r.b_key, r.b_title, r.b_owner, r.b_status)
        )
    out = [
        BlockedItem(r.key, r.title, r.queue, r.owner, r.status, tuple(bs))
        for r, bs in grouped.values()
    ]
    # in a "blocked" state with no recorded blocker
    rest = conn.execute(
        select(
            ITEM.c.id,
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
        )
        .select_from(_items_from())
        .where(ITEM.c.category != "done", ITEM.c.status == "blocked")
        .order_by(ITEM.c.priority, ITEM.c.id)
    ).all()
    out += [
        BlockedItem(r.key, r.title, r.queue, r.owner, r.status, ())
        for r in rest
        if r.id not in grouped
    ]
    return out


def stuck_items(
    conn: Connection, now: datetime, stuck_days: int, holidays: frozenset[date]
) -> list[StuckItem]:
    # the newest event per open item: the (item_id, id) index answers each lookup
    newest = EVENT.alias("newest")
    last_id = (
        select(func.max(newest.c.id))
        .where(newest.c.item_id == ITEM.c.id)
        .correlate(ITEM)
        .scalar_subquery()
    )
    last_ts = select(EVENT.c.ts).where(EVENT.c.id == last_id).correlate(ITEM).scalar_subquery()
    rows = conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            OWNER.c.handle.label("owner"),
            ITEM.c.status,
            ITEM.c.updated_at,
            last_ts.label("last_ts"),
        )
        .select_from(_items_from())
        .where(ITEM.c.category != "done")
    ).all()
    out = []
    for r in rows:
        last = max(t for t in (r.last_ts, r.updated_at) if t is not None)
        idle = working_days_between(last, now, holidays)
        if idle >= stuck_days:
            out.append(StuckItem(r.key, r.title, r.queue, r.owner, r.status, last, round(idle, 1)))
    return sorted(out, key=lambda s: (-s.idle_days, s.key))


def unowned_items(conn: Connection) -> list[UnownedItem]:
    rows = conn.execute(
        select(
            ITEM.c.key,
            ITEM.c.title,
            QUEUE.c.slug.label("queue"),
            ITEM.c.priority,
            ITEM.c.status,
            ITEM.c.created_at,
            ITEM.c.next_due_at,
            ITEM.c.version,
        )
        .select_from(ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id))
        .where(ITEM.c.category != "done", ITEM.c.owner_id.is_(None))
        .order_by(ITEM.c.priority, ITEM.c.created_at)
    ).all()
    return [UnownedItem(**dict(r._mapping)) for r in rows]


def process_findings(conn: Connection) -> list[ProcessFinding]:
    rows = conn.execute(
        select(
            PROCESS.c.key,
            PROCESS.c.name,
            PROCESS.c.owner_id,
            PROCESS.c.trigger,
            PROCESS.c.runbook,
            PERSON.c.active.label("owner_active"),
        )
        .select_from(PROCESS.outerjoin(PERSON, PERSON.c.id == PROCESS.c.owner_id))
        .where(PROCESS.c.active.is_(True))
        .order_by(PROCESS.c.key)
    ).all()
    out = []
    for r in rows:
        problems = []
        if r.owner_id is None:
            problems.append("no owner")
        elif not r.owner_active:
            problems.append("owner is inactive")
        if not r.trigger:
            problems.append("no trigger")
        if not (r.runbook or "").strip():
            problems.append("no runbook steps")
        if problems:
            out.append(ProcessFinding(r.key, r.name, ", ".join(problems)))
    return out


def pending_approvals(conn: Connection) -> list[PendingApproval]:
    rows = conn.execute(
        select(
            APPROVAL.c.id.label("approval_id"),
            ITEM.c.key,
            ITEM.c.title,
            OWNER.c.handle.label("owner"),
            APPROVAL.c.to_state,
            APPROVAL.c.requested_by,
            APPROVAL.c.requested_at,
            APPROVAL.c.note,
            ITEM.c.version,
        )
        .select_from(
            APPROVAL.join(ITEM, ITEM.c.id == APPROVAL.c.item_id).outerjoin(
                OWNER, OWNER.c.id == ITEM.c.owner_id
            )
        )
        .where(APPROVAL.c.status == "pending")
        .order_by(APPROVAL.c.requested_at, APPROVAL.c.id)
    ).all()
    return [PendingApproval(**dict(r._mapping)) for r in rows]


def trends(
    conn: Connection, end: datetime, weeks: int = TREND_WEEKS, *, upto: datetime | None = None
) -> tuple[list[WeekStat], list[QueueCycle]]:
    """Done items per week and their cycle times for the ``weeks`` weeks ending at ``end``
    (``upto``: exclusive bound of what counts, default ``end``)."""
    upto = upto or end
    first = end - weeks * WEEK
    rows = conn.execute(
        select(QUEUE.c.slug, ITEM.c.created_at, ITEM.c.resolved_at)
        .select_from(ITEM.join(QUEUE, QUEUE.c.id == ITEM.c.queue_id))
        .where(ITEM.c.category == "done", ITEM.c.resolved_at >= first, ITEM.c.resolved_at < upto)
    ).all()
    bins: list[list[float]] = [[] for _ in range(weeks)]
    per_queue: dict[str, list[tuple[int, float]]] = {}
    for slug, created, resolved in rows:
        idx = min(weeks - 1, int((resolved - first) / WEEK))
        hours = max(0.0, (resolved - created).total_seconds() / 3600)
        bins[idx].append(hours)
        per_queue.setdefault(slug, []).append((idx, hours))
    stats = [
        WeekStat(first + i * WEEK, first + (i + 1) * WEEK, len(b), _median(b), percentile(b, 85))
        for i, b in enumerate(bins)
    ]
    queues = []
    for slug in [r[0] for r in conn.execute(select(QUEUE.c.slug).order_by(QUEUE.c.id))]:
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
    r = conn.execute(
        select(REVIEW).order_by(REVIEW.c.held_at.desc(), REVIEW.c.id.desc()).limit(1)
    ).first()
    if r is None:
        return None
    return HeldReview(r.held_by, r.held_at, r.week_start, len(r.decisions or []))


# --- the whole review ----------------------------------------------------------------


def weekly_review(
    db: Database,
    *,
    week: date | str | None = None,
    stuck_days: int = 3,
    now: datetime | None = None,
) -> WeeklyReview:
    """Everything the review shows, read in one snapshot."""
    now = now or db.clock.now()
    start, end = week_bounds(now, week)
    # a week ending now includes what happened at this very instant
    upto = end + timedelta(microseconds=1) if end >= now else end
    with db.read() as conn:
        holidays = capacity_svc.holidays_in(conn)
        breaches, near = sla_misses(conn, start, upto)
        blocked = blocked_items(conn)
        stuck = stuck_items(conn, now, stuck_days, holidays)
        unowned = unowned_items(conn)
        findings = process_findings(conn)
        approvals = pending_approvals(conn)
        cap = capacity_svc.report_in(conn, now)
        weeks, queues = trends(conn, end, upto=upto)
        held = last_review(conn)
    counts = {
        "breaches": len(breaches),
        "near_misses": len(near),
        "blocked": len(blocked),
        "stuck": len(stuck),
        "unowned": len(unowned),
        "process_findings": len(findings),
        "approvals": len(approvals),
    }
    return WeeklyReview(
        now=now,
        start=start,
        end=end,
        stuck_days=stuck_days,
        breaches=tuple(breaches[:MAX_ROWS]),
        near_misses=tuple(near[:MAX_ROWS]),
        blocked=tuple(blocked[:MAX_ROWS]),
        stuck=tuple(stuck[:MAX_ROWS]),
        unowned=tuple(unowned[:MAX_ROWS]),
        process_findings=tuple(findings),
        approvals=tuple(approvals),
        capacity=cap,
        weeks=tuple(weeks),
        queues=tuple(queues),
        last_review=held,
        counts=counts,
    )


# --- recording -----------------------------------------------------------------------


def record_review(
    db: Database,
    start: datetime,
    end: datetime,
    decisions: Sequence[dict[str, Any]],
    notes: str = "",
) -> int:
    """Record a held review (who, when, which week, decisions); returns its id."""
    cleaned = [
        {k: (one_line(str(v), 500) if isinstance(v, str) else v) for k, v in d.items()}
        for d in decisions
    ]
    if notes.strip():
        cleaned.append({"kind": "note", "text": one_line(notes, 2000)})
    with writing(db) as ctx:
        held_by = ctx.unix_user
        if ctx.person_id is not None:
            handle = ctx.conn.execute(
                select(PERSON.c.handle).where(PERSON.c.id == ctx.person_id)
            ).scalar()
            held_by = handle or held_by
        review_id = ctx.conn.execute(
            REVIEW.insert().values(
                held_by=held_by,
                person_id=ctx.person_id,
                held_at=ctx.now,
                week_start=start,
                week_end=end,
                decisions=cleaned,
            )
        ).inserted_primary_key[0]
        ctx.record(
            "review_held",
            None,
            f"week of {start:%Y-%m-%d}: {len(cleaned)} decision(s)",
            entity="review",
            entity_id=int(review_id),
        )
        return int(review_id)


# --- export --------------------------------------------------------------------------


def hours_text(h: float | None) -> str:
    if h is None:
        return "-"
    if h < 1:
        return f"{h * 60:.0f}m"
    if h < 48:
        return f"{h:.1f}h"
    return f"{h / 24:.1f}d"


def margin_text(seconds: float | None) -> str:
    return "-" if seconds is None else hours_text(seconds / 3600)


def change_text(now_v: float | None, before: float | None, *, unit: str = "") -> str:
    """``+3 (+25%)``, ``-1.5h (-20%)``, ``±0``; ``-`` when either side is unknown."""
    if now_v is None or before is None:
        return "-"
    diff = now_v - before
    sign = "+" if diff > 0 else ("-" if diff < 0 else "±")
    size = hours_text(abs(diff)) if unit == "h" else f"{abs(diff):g}"
    pct = f" ({diff / before:+.0%})" if before and diff else ""
    return f"{sign}{size}{pct}"


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


def bar(value: float, top: float, width: int = 20) -> str:
    if top <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(value / top * width))


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
    summary = [
        ("SLA breaches", rv.counts["breaches"]),
        ("SLA near misses", rv.counts["near_misses"]),
        ("Blocked items", rv.counts["blocked"]),
        (f"Stuck items (no event for {rv.stuck_days} working days)", rv.counts["stuck"]),
        ("Unowned open items", rv.counts["unowned"]),
        ("Process findings", rv.counts["process_findings"]),
        ("Pending approvals", rv.counts["approvals"]),
        ("Overloaded people", len(cap.overloaded)),
        ("Rebalancing suggestions", len(cap.moves)),
        ("Single-person skills", sum(1 for c in cap.skills if c.count == 1)),
        (
            "Done this week",
            f"{this.done} ({change_text(this.done, prev.done if prev else None)} vs week before)",
        ),
    ]
    lines += _table(("What", "Count"), summary, "nothing")

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
    lines += ["## Pending approvals", ""]
    lines += _table(
        ("Item", "Title", "Owner", "Move to", "Requested by", "Requested at", "Note"),
        [
            (
                a.key,
                one_line(a.title, 60),
                a.owner or "(unowned)",
                a.to_state,
                a.requested_by,
                _ts(a.requested_at),
                one_line(a.note, 60),
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
        ("Person", "Open", "Load", "Available", "Utilisation", "Chart", "Flag"),
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
        "process_findings": [
            {"process": p.key, "name": p.name, "finding": p.finding} for p in rv.process_findings
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
            }
            for a in rv.approvals
        ],
        "capacity": capacity_svc.report_json(rv.capacity),
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
        "last_review": None
        if rv.last_review is None
        else {
            "held_by": rv.last_review.held_by,
            "held_at": rv.last_review.held_at,
            "week_start": rv.last_review.week_start,
            "decisions": rv.last_review.decisions,
        },
    }
