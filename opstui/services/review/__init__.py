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
* **Process findings**: the process catalog's findings, the same list and count as
  ``opstui processes`` (:func:`opstui.services.processes.catalog.process_catalog`).
* **Late process runs**: process occurrences created in the week after their due time
  (caught up after the app or server was down; ``workflow.is_late``).
* **Throughput**: items reaching a done state per week; **cycle time**: created -> resolved
  of those items, median and 85th percentile (nearest rank), over :data:`TREND_WEEKS` weeks.

Modules: :mod:`.records` (the immutable records), :mod:`.sections` (one function per
section; the SQL is in :mod:`opstui.store.review_queries`), :mod:`.build` (the whole
review), :mod:`.record` (recording a held review), :mod:`.exports` (Markdown, JSON).
"""

from __future__ import annotations

from .build import week_bounds, weekly_review
from .exports import bar, change_text, hours_text, margin_text, to_json, to_markdown
from .record import record_review
from .records import (
    MAX_ROWS,
    NEAR_MISS_LEFT,
    TREND_WEEKS,
    WEEK,
    BlockedItem,
    Blocker,
    HeldReview,
    LateRun,
    PendingApproval,
    ProcessFinding,
    QueueCycle,
    SlaMiss,
    StuckItem,
    UnownedItem,
    WeeklyReview,
    WeekStat,
)
from .sections import percentile

__all__ = [
    "MAX_ROWS",
    "NEAR_MISS_LEFT",
    "TREND_WEEKS",
    "WEEK",
    "BlockedItem",
    "Blocker",
    "HeldReview",
    "LateRun",
    "PendingApproval",
    "ProcessFinding",
    "QueueCycle",
    "SlaMiss",
    "StuckItem",
    "UnownedItem",
    "WeekStat",
    "WeeklyReview",
    "bar",
    "change_text",
    "hours_text",
    "margin_text",
    "percentile",
    "record_review",
    "to_json",
    "to_markdown",
    "week_bounds",
    "weekly_review",
]
