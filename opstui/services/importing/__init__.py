"""Importing another tool's work: resolve the mapping, plan, validate, then write in
short batches.

The run is planned and checked in full before anything is written: every source row
that cannot be used (an unmapped state, group or priority, a move the workflow does not
allow, a bad date) is reported with file, line and reason and nothing is written.  The
writes then go in transactions of about a quarter of a second each, so that another
terminal's change waits at most about that long.  If a write fails midway (a full disk),
the items this run created are removed again; changes a re-import made to existing items
in earlier batches stay (each is a complete, recorded change) and running the import
again completes it, since a re-import skips what is there.

Replay rules, the same as a live change (``services.items``): a snapshot's changes are
applied in the order queue (a transfer), state, owner, priority, title, named fields; each
is its own event with the snapshot's time and actor and bumps the item's version; leaving
a ``new`` state sets the first response, entering ``done`` sets the resolution time,
leaving ``done`` clears it; a comment by anyone but the requester is a first response; a
transfer to a queue under another SLA policy starts that policy's clock at the move.
New items are replayed in memory and written in bulk (a test checks that this gives the
same items and events as the service functions); changes to items that exist go through
the service functions themselves.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from ...importers.mapping import Mapping, StateMap
from ...importers.model import ImportError_, Problem, Source
from ...store import worklog as wq
from ...store.engine import Database
from ..context import display
from .plan import ItemPlan, plan_items
from .report import ImportReport, Progress
from .resolve import resolve
from .tables import ITEM
from .verdicts import SourceVerdict, compare_source
from .worklogs import plan_worklogs
from .write import BATCH_SECONDS, YIELD_SECONDS, _write

#: Order of a snapshot's changes (documented in the README).
CHANGE_ORDER = ("queue", "status", "owner", "priority", "title")

__all__ = [
    "BATCH_SECONDS",
    "YIELD_SECONDS",
    "ImportReport",
    "SourceVerdict",
    "compare_source",
    "run_import",
]


def _existing(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for r in conn.execute(
            select(
                ITEM.c.id,
                ITEM.c.key,
                ITEM.c.external_key,
                ITEM.c.status,
                ITEM.c.estimate_hours,
                ITEM.c.data,
            ).where(ITEM.c.external_key.in_(chunk))
        ):
            out[r.external_key] = {
                "id": r.id,
                "key": r.key,
                "status": r.status,
                "estimate": r.estimate_hours,
                "source": (r.data or {}).get("source"),
            }
    return out


def run_import(
    db: Database,
    source: Source,
    mapping: Mapping,
    *,
    default_states: dict[str, StateMap],
    default_priorities: dict[str, int],
    dry_run: bool = False,
    progress: Progress | None = None,
    bulk: bool = True,
) -> ImportReport:
    """Import ``source`` all-or-nothing (see the module doc).  Raises ImportError_ with
    every refused row when any row cannot be used."""
    started = time.perf_counter()
    errors = [p for p in source.problems if p.severity == "error"]
    report = ImportReport(
        system=source.system,
        file=source.file,
        rows=source.rows,
        dry_run=dry_run,
        notes=list(source.notes),
        skipped=[p for p in source.problems if p.severity != "error"],
        kept_fields=list(source.kept_fields),
        unused_columns=list(source.unused_columns),
    )
    with db.read() as conn:
        res, problems = resolve(conn, source, mapping, default_states, default_priorities)
        errors += problems
        report.mapping = res.mapping
        if errors:
            _refuse(source, errors)
        existing = _existing(conn, [i.key for i in source.items])
        stored = wq.imported_worklogs(conn, [e["id"] for e in existing.values()])
    plans, problems = plan_items(res, source, existing)
    errors += problems
    if errors:
        _refuse(source, errors)
    for p in plans:
        _plan_time(source, p, existing, stored)
    report.notes += res.notes
    for p in plans:
        if p.action == "create":
            report.created += 1
            report.lines.append(
                f"create {p.src.key}: {p.final.queue if p.final else '-'} "
                f"{p.final.status if p.final else '-'}, {len(p.ops)} changes"
            )
        elif p.action in ("update", "refresh"):
            report.updated += p.action == "update"
            report.unchanged += p.action == "refresh"
            if p.action == "update":
                report.lines.append(
                    f"update {p.src.key} ({p.key}): "
                    + ", ".join(
                        ([f"estimate - -> {p.estimate}h"] if p.estimate is not None else [])
                        + [
                            f"{o.field} {display(o.old) or '-'} -> {display(o.new) or '-'}"
                            if o.field != "comment"
                            else "comment"
                            for o in p.ops[:6]
                        ]
                    )
                )
        else:
            report.unchanged += 1
        if p.worklogs is not None and p.worklogs.changes:
            report.worklogs += p.worklogs.creates
            report.lines.append(f"time {p.src.key}: {p.worklogs.describe()}")
            report.worklog_seconds += sum(w.seconds for w in p.worklogs.new)
            if p.worklogs.rest_changes:
                report.worklog_seconds += p.worklogs.rest_seconds - (p.worklogs.rest_stored or 0)
    report.events = sum(len(p.ops) for p in plans) + report.created
    report.events += sum(p.worklogs.events for p in plans if p.worklogs is not None)
    report.events += sum(p.estimate is not None for p in plans)
    if dry_run:
        report.seconds = time.perf_counter() - started
        return report
    _write(db, source, res, plans, report, progress, bulk)
    report.seconds = time.perf_counter() - started
    return report


def _plan_time(
    source: Source,
    p: ItemPlan,
    existing: dict[str, dict[str, Any]],
    stored: dict[int, dict[str, int]],
) -> None:
    """Time spent and estimate for one planned item (see ``worklogs``): an item with
    nothing else new but worklogs or an estimate to add is refreshed, not skipped."""
    old = existing.get(p.src.key)
    item_stored = stored.get(old["id"], {}) if old else {}
    owner = p.final.owner if p.final is not None else None
    p.worklogs = plan_worklogs(source.system, p.src, item_stored, owner)
    if old is not None and old.get("estimate") is None and p.src.estimate_hours:
        p.estimate = p.src.estimate_hours
        if p.action in ("skip", "refresh"):
            p.action = "update"
    if p.action == "skip" and p.worklogs is not None and p.worklogs.changes:
        p.action = "refresh"


def _refuse(source: Source, errors: list[Problem]) -> None:
    errors = sorted(errors, key=lambda p: (p.file, p.line or 0))
    raise ImportError_(
        f"{source.file}: {len(errors)} problem{'s' if len(errors) != 1 else ''}, nothing "
        f"imported (first: {errors[0]})",
        errors,
    )
