"""The weekly review's records: immutable snapshots the screen and the exports share."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...domain.capacity import CapacityReport, Move
from ..outbox import FailingSummary
from ..processes.audit import AuditStatus

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
    """One finding of the process catalog (the same list ``opstui processes`` shows)."""

    key: str
    name: str
    finding: str
    kind: str


@dataclass(frozen=True)
class LateRun:
    """A process occurrence created in the week after its due time (caught up)."""

    process: str
    name: str
    item: str | None
    due: datetime
    created: datetime


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
    #: The item's last comments (author, body, when), oldest first.
    comments: tuple[ApprovalComment, ...] = ()


@dataclass(frozen=True)
class ApprovalComment:
    author: str
    body: str
    at: datetime


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
class Minute:
    """One decision of a held review (its minutes): who held it, what was decided on which
    item, when.  ``kind`` is assign, move, transfer, comment, approve, reject, reassign or
    note (a note for the record: ``item`` is empty)."""

    held_by: str
    held_at: datetime
    kind: str
    item: str
    detail: str
    at: datetime


@dataclass(frozen=True)
class DriftItem:
    """An open item the forecast says will miss its date (``services.forecast``)."""

    key: str
    title: str
    owner: str | None
    #: ``finishes Fri 11 Dec 10:08, due Wed 09 Dec 17:00: 1d17h late``
    forecast: str
    #: A suggested move brings it back on time.
    savable: bool = False


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
    late_runs: tuple[LateRun, ...] = ()
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    #: Drifting work now (only in the review of the current week: a forecast is about
    #: the future, and a past week's review shows nothing after its end).
    drifting: tuple[DriftItem, ...] = ()
    #: Moves that bring drifting items back on time (accepted like rebalancing moves).
    rescues: tuple[Move, ...] = ()
    #: The minutes of the reviews held for the week before (``sections.decided_last_week``).
    decided_last_week: tuple[Minute, ...] = ()
    #: Estimate accuracy (``services.forecast.accuracy_in``): "person" / "kind" -> the
    #: median ratio of time logged to time estimated on finished items, 8 weeks.
    accuracy: dict[str, list[Any]] = field(default_factory=dict, hash=False, compare=False)
    #: Failing outbox deliveries ("3 deliveries failing since 09:12: billing-webhook 500").
    outbox: FailingSummary | None = None
    #: The monthly single-point-of-failure audit, as of now (``services.review.audit``).
    audit: AuditStatus | None = None

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
