"""ServiceNow incidents: the plain list export (one row per incident) and the incident
event log (one row per update, ``sys_mod_count`` counting them).

Shape of the event log (the public ``incident_event_log`` data set): ``number,
incident_state, active, reassignment_count, reopen_count, sys_mod_count, made_sla,
caller_id, opened_by, opened_at, sys_created_by, sys_created_at, sys_updated_by,
sys_updated_at, contact_type, location, category, subcategory, u_symptom, cmdb_ci, impact,
urgency, priority, assignment_group, assigned_to, knowledge, u_priority_confirmation,
notify, problem_id, rfc, vendor, caused_by, closed_code, resolved_by, resolved_at,
closed_at``; ``?`` is null; times are ``DD-MM-YYYY HH:MM`` (or ``D/M/YYYY HH:MM``) in the
instance's zone, without one; priorities read ``3 - Moderate``.  The list export names
the state column ``state`` and its update time ``sys_updated_on``
(``YYYY-MM-DD HH:MM:SS``).
"""

from __future__ import annotations

import operator
from datetime import datetime
from pathlib import Path

from .csvfile import Row, read_table
from .dates import DateParser
from .mapping import Mapping, StateMap
from .model import ImportError_, Problem, Snapshot, Source, SourceItem

NULLS = ("?", "NULL", "null")
DATE_FORMATS = [
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
]

DEFAULT_STATES: dict[str, StateMap] = {
    "New": StateMap("new", "new"),
    "Active": StateMap("active", "active"),
    "In Progress": StateMap("in_progress", "active"),
    "Awaiting User Info": StateMap("awaiting_user_info", "waiting"),
    "Awaiting Problem": StateMap("awaiting_problem", "waiting"),
    "Awaiting Vendor": StateMap("awaiting_vendor", "waiting"),
    "Awaiting Evidence": StateMap("awaiting_evidence", "waiting"),
    "On Hold": StateMap("on_hold", "waiting"),
    "Resolved": StateMap("resolved", "done"),
    "Closed": StateMap("closed", "done"),
    "Canceled": StateMap("canceled", "done"),
    "Cancelled": StateMap("canceled", "done"),
}
DEFAULT_PRIORITIES = {
    "1 - Critical": 1,
    "2 - High": 2,
    "3 - Moderate": 3,
    "4 - Low": 4,
    "5 - Planning": 4,
}

#: Columns read into our own fields or used for ordering (not kept as named fields).
KEY_COLS = ("number",)
STATE_COLS = ("incident_state", "state")
UPDATED_COLS = ("sys_updated_at", "sys_updated_on")
CREATED_COLS = ("opened_at", "sys_created_at", "sys_created_on")
USED = {
    "number",
    "incident_state",
    "state",
    "sys_mod_count",
    "sys_updated_at",
    "sys_updated_on",
    "sys_updated_by",
    "opened_at",
    "opened_by",
    "sys_created_at",
    "sys_created_on",
    "sys_created_by",
    "caller_id",
    "assignment_group",
    "assigned_to",
    "priority",
    "short_description",
    "description",
}
#: Source facts: kept on the item as the source said them (``made_sla``...), not recomputed.
FACTS = (
    "made_sla",
    "active",
    "reassignment_count",
    "reopen_count",
    "resolved_by",
    "resolved_at",
    "closed_at",
)


def _first(row: Row, names: tuple[str, ...]) -> str | None:
    for n in names:
        v = row.get(n, NULLS)
        if v is not None:
            return v
    return None


def _fact(name: str, value: str) -> object:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if name.endswith("_count") and value.isdigit():
        return int(value)
    return value


def parse(path: str | Path, mapping: Mapping) -> Source:
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter, nulls=NULLS)
    name = table.file
    headers = set(table.headers)
    if "number" not in headers:
        raise ImportError_(
            f"{name}:1: no 'number' column: not a ServiceNow incident export "
            f"(columns: {', '.join(table.headers[:8])}...)"
        )
    if not headers & set(STATE_COLS):
        raise ImportError_(f"{name}:1: no 'incident_state' or 'state' column")
    if not headers & set(UPDATED_COLS) and not headers & set(CREATED_COLS):
        raise ImportError_(f"{name}:1: no time column (sys_updated_at, opened_at...)")
    dates = DateParser(
        [mapping.date_format] if mapping.date_format else DATE_FORMATS, mapping.zone()
    )
    facts_cols = [c for c in FACTS if c in headers]
    ignore = set(mapping.ignore_fields)
    if mapping.keep_fields is not None:
        missing = [c for c in mapping.keep_fields if c not in headers]
        if missing:
            raise ImportError_(f"{mapping.file}: [fields] keep names no column {missing[0]!r}")
        kept = list(mapping.keep_fields)
    else:
        kept = [h for h in table.headers if h not in USED and h not in FACTS and h not in ignore]
    kept = list(dict.fromkeys(kept))
    unused = [h for h in table.headers if h not in USED and h not in FACTS and h not in kept]
    problems = list(table.problems)
    col = table.column
    i_number = col("number")
    i_state = [i for i in (col(c) for c in STATE_COLS) if i is not None]
    i_updated = [i for i in (col(c) for c in UPDATED_COLS) if i is not None]
    i_created = [i for i in (col(c) for c in CREATED_COLS) if i is not None]
    i_mod = col("sys_mod_count")
    i_actor, i_group = col("sys_updated_by"), col("assignment_group")
    i_assignee, i_priority = col("assigned_to"), col("priority")
    i_title = col("short_description")
    kept_idx = [(c, i) for c in kept if (i := col(c)) is not None]
    facts_idx = [(c, col(c)) for c in facts_cols]
    kept_raw = operator.itemgetter(*(i for _c, i in kept_idx)) if kept_idx else None

    def kept_fields(
        row: Row, prev: tuple[object, dict[str, str]] | None
    ) -> tuple[object, dict[str, str]]:
        # Most update rows repeat the previous row's fields: compare the cells first and
        # share the dict (the planner then skips the field diff by identity).
        cells = row.cells
        raw = kept_raw(cells) if kept_raw is not None else None
        if prev is not None and raw == prev[0]:
            return prev
        return raw, {c: v for c, i in kept_idx if (v := cells[i])}

    def cell_of(cells: list[str], index: int | None) -> str | None:
        # read_table has stripped the cells and emptied the null tokens already.
        return (cells[index] or None) if index is not None else None

    def first_of(row: Row, indexes: list[int]) -> str | None:
        cells = row.cells
        for i in indexes:
            if cells[i]:
                return cells[i]
        return None

    by_key: dict[str, list[tuple[Row, tuple[datetime, int, int]]]] = {}
    for row in table.rows:
        cells = row.cells
        key = cells[i_number]
        if not key:
            problems.append(Problem(name, row.line, "no incident number"))
            continue
        try:
            updated_text = first_of(row, i_updated) or first_of(row, i_created)
            if updated_text is None:
                raise ValueError("no sys_updated_at or opened_at time")
            at = dates(updated_text)
            mod = cells[i_mod] if i_mod is not None else ""
            if mod and not mod.isdigit():
                raise ValueError(f"sys_mod_count {mod!r} is not a whole number")
        except ValueError as exc:
            problems.append(Problem(name, row.line, f"{key}: {exc}"))
            continue
        by_key.setdefault(key, []).append((row, (at, int(mod or 0), row.line)))
    items: list[SourceItem] = []
    untitled = 0
    for key, rows in by_key.items():
        rows.sort(key=lambda r: r[1])
        first = rows[0][0]
        try:
            created_text = first_of(first, i_created)
            created = dates(created_text) if created_text else rows[0][1][0]
        except ValueError as exc:
            problems.append(Problem(name, first.line, f"{key}: opened_at {exc}"))
            continue
        title = first.cell(i_title, NULLS)
        if title is None:
            untitled += 1
            bits = [first.get(c, NULLS) for c in ("category", "subcategory", "u_symptom")]
            title = f"{key}: " + (", ".join(b for b in bits if b) or "incident")
        item = SourceItem(
            key=key,
            title=title,
            kind=mapping.kind or "incident",
            created=created,
            creator=first.get("opened_by", NULLS) or first.get("sys_created_by", NULLS),
            requester=first.get("caller_id", NULLS) or "",
            body=first.get("description", NULLS) or "",
        )
        bad = False
        last = len(rows) - 1
        prev_fields: tuple[object, dict[str, str]] | None = None
        for n, (row, (when, mod, _line)) in enumerate(rows):
            cells = row.cells
            state = first_of(row, i_state)
            if state is None:
                problems.append(Problem(name, row.line, f"{key}: no incident_state"))
                bad = True
                continue
            # The source's facts are its final word: read from the newest row.
            facts = (
                {c: _fact(c, v) for c, i in facts_idx if (v := cell_of(cells, i)) is not None}
                if n == last
                else {}
            )
            item.snapshots.append(
                Snapshot(
                    line=row.line,
                    at=max(when, created),
                    rev=(when.isoformat(), mod),
                    actor=cell_of(cells, i_actor),
                    state=state,
                    group=cell_of(cells, i_group),
                    assignee=cell_of(cells, i_assignee),
                    priority=cell_of(cells, i_priority),
                    fields=(prev_fields := kept_fields(row, prev_fields))[1],
                    facts=facts,
                    title=cell_of(cells, i_title),
                )
            )
        if not bad and item.snapshots:
            items.append(item)
    notes = []
    if untitled:
        notes.append(
            f"{untitled} incidents have no short_description: titled from number and category"
        )
    if mapping.tz is None:
        notes.append("times read as UTC (the export has no zone; say which with --tz)")
    log = any(len(r) > 1 for r in by_key.values())
    return Source(
        system="servicenow",
        file=name,
        items=items,
        rows=len(table.rows),
        problems=problems,
        notes=[f"{'event log' if log else 'incident list'}: {len(table.rows)} rows"] + notes,
        kept_fields=kept,
        unused_columns=unused,
    )
