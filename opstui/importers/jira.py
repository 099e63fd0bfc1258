"""Jira's "CSV (all fields)" export: one row per issue, repeated column names for
multi-value fields (``Labels``, ``Comment``, ``Watchers``, ``Component/s``...), dates like
``14/Jul/25 3:42 PM``, ``Original Estimate`` and ``Time Spent`` in seconds, and
``Comment`` cells of the form ``date;author;body``, and repeated ``Log Work`` columns
whose cells are ``comment;started;author;timeSpentSeconds`` (the comment may itself hold
semicolons, so a cell is split from the right).

The export holds each issue's current state, not its history: an issue is created at
``Created`` in the first state of its workflow and moved to its current state at
``Resolved`` (done issues) or ``Updated``; comments are replayed at their own times.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .csvfile import read_table
from .dates import DateParser
from .mapping import Mapping, StateMap
from .model import (
    INITIAL,
    ImportError_,
    Problem,
    Snapshot,
    Source,
    SourceComment,
    SourceItem,
    SourceWorklog,
)

DATE_FORMATS = [
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S.%f%z",
]
DEFAULT_STATES: dict[str, StateMap] = {
    "Open": StateMap("open", "new"),
    "To Do": StateMap("to_do", "new"),
    "Backlog": StateMap("backlog", "new"),
    "Selected for Development": StateMap("selected", "new"),
    "In Progress": StateMap("in_progress", "active"),
    "In Review": StateMap("in_review", "active"),
    "Reopened": StateMap("reopened", "active"),
    "Waiting for customer": StateMap("waiting_for_customer", "waiting"),
    "Waiting for support": StateMap("waiting_for_support", "active"),
    "Pending": StateMap("pending", "waiting"),
    "Blocked": StateMap("blocked", "waiting"),
    "Resolved": StateMap("resolved", "done"),
    "Done": StateMap("done", "done"),
    "Closed": StateMap("closed", "done"),
    "Canceled": StateMap("canceled", "done"),
}
#: Jira's "Status Category" column, for states the defaults do not name.
CATEGORY_OF_STATUS_CATEGORY = {"To Do": "new", "In Progress": "active", "Done": "done"}
DEFAULT_PRIORITIES = {
    "Highest": 1,
    "Blocker": 1,
    "High": 2,
    "Critical": 2,
    "Medium": 3,
    "Major": 3,
    "Low": 4,
    "Lowest": 4,
    "Minor": 4,
    "Trivial": 4,
}
USED = {
    "Issue key",
    "Summary",
    "Issue Type",
    "Status",
    "Priority",
    "Assignee",
    "Reporter",
    "Creator",
    "Created",
    "Updated",
    "Resolved",
    "Due Date",
    "Due date",
    "Original Estimate",
    "Original estimate",
    "Description",
    "Comment",
    "Project key",
    "Project name",
    "Status Category",
    "Time Spent",
    "Log Work",
}
#: Kept as the source's facts (no event when they change).
FACTS = ("Resolution", "Resolved", "Status Category", "Status Category Changed", "Issue id")
#: Not imported (reported): when the exporting user last looked at the issue.
VOLATILE = ("Last Viewed",)


def _seconds_to_hours(text: str | None, where: str) -> float | None:
    if not text:
        return None
    try:
        return round(int(text) / 3600, 2)
    except ValueError:
        raise ValueError(f"{where} {text!r} is not a number of seconds") from None


def _seconds(text: str, where: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{where} {text!r} is not a number of seconds") from None
    if value < 0:
        raise ValueError(f"{where} {text!r} is negative")
    return value


def _worklogs(key: str, line: int, cells: list[str], dates: DateParser) -> list[SourceWorklog]:
    """``Log Work`` cells as worklogs.  Each one's identity is its content (Jira's export
    holds no worklog id): the same entry in a newer export is the same worklog; two equal
    entries on one issue are told apart by their order."""
    out: list[SourceWorklog] = []
    seen: dict[str, int] = {}
    for cell in cells:
        parts = cell.rsplit(";", 3)
        if len(parts) < 4:
            raise ValueError(
                f"Log Work {cell[:40]!r} is not comment;started;author;timeSpentSeconds"
            )
        note, started, author, secs = parts
        seconds = _seconds(secs, "Log Work time spent")
        if seconds == 0:
            raise ValueError(f"Log Work {cell[:40]!r} logs no time")
        at = dates(started.strip())
        who = author.strip() or None
        digest = hashlib.sha1(
            "\x1f".join((at.isoformat(), who or "", str(seconds), note)).encode()
        ).hexdigest()[:16]
        n = seen.get(digest, 0)
        seen[digest] = n + 1
        out.append(
            SourceWorklog(line, at, who, seconds, note.strip(), f"jira:{key}:log:{digest}:{n}")
        )
    return out


def parse(path: str | Path, mapping: Mapping, *, group_column: str = "Project name") -> Source:
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter)
    name = table.file
    headers = set(table.headers)
    for need in ("Issue key", "Summary", "Status", "Created"):
        if need not in headers:
            raise ImportError_(
                f"{name}:1: no {need!r} column: not a Jira CSV export "
                f"(columns: {', '.join(table.headers[:8])}...)"
            )
    dates = DateParser(
        [mapping.date_format] if mapping.date_format else DATE_FORMATS, mapping.zone()
    )
    ignore = set(mapping.ignore_fields)
    if mapping.keep_fields is not None:
        missing = [c for c in mapping.keep_fields if c not in headers]
        if missing:
            raise ImportError_(f"{mapping.file}: [fields] keep names no column {missing[0]!r}")
        kept = list(mapping.keep_fields)
    else:
        kept = [
            h
            for h in table.headers
            if h not in USED and h not in FACTS and h not in ignore and h not in VOLATILE
        ]
    kept = list(dict.fromkeys(kept))
    unused = [h for h in dict.fromkeys(table.headers) if h not in USED | set(FACTS) | set(kept)]
    group_col = group_column if group_column in headers else "Project key"
    problems = list(table.problems)
    items: list[SourceItem] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        key = row.get("Issue key")
        if key is None:
            problems.append(Problem(name, row.line, "no Issue key"))
            continue
        if key in seen:
            problems.append(Problem(name, row.line, f"{key} repeats line {seen[key]}"))
            continue
        seen[key] = row.line
        try:
            created = dates(row.get("Created") or "")
            updated = dates(row.get("Updated")) if row.get("Updated") else created
            resolved = dates(row.get("Resolved")) if row.get("Resolved") else None
            # Jira Data Center writes "Due Date", Jira Cloud "Due date" (and so on).
            due_text = row.get("Due Date") or row.get("Due date")
            due = dates(due_text) if due_text else None
            estimate = _seconds_to_hours(
                row.get("Original Estimate") or row.get("Original estimate"), "Original Estimate"
            )
            comments = []
            for cell in row.all("Comment"):
                parts = cell.split(";", 2)
                if len(parts) < 3:
                    raise ValueError(f"Comment {cell[:40]!r} is not date;author;body")
                comments.append(
                    SourceComment(row.line, dates(parts[0]), parts[1].strip() or None, parts[2])
                )
            worklogs = _worklogs(key, row.line, row.all("Log Work"), dates)
            spent_text = (row.get("Time Spent") or "").strip()
            spent = _seconds(spent_text, "Time Spent") if spent_text else None
        except ValueError as exc:
            problems.append(Problem(name, row.line, f"{key}: {exc}"))
            continue
        status = row.get("Status") or ""
        fields = {}
        for c in kept:
            values = row.all(c)
            if values:
                fields[c] = ", ".join(values)
        facts = {c: v for c in FACTS if (v := row.get(c)) is not None}
        reporter = row.get("Reporter")
        item = SourceItem(
            key=key,
            title=row.get("Summary") or key,
            kind=mapping.kind or (row.get("Issue Type") or "task").lower(),
            created=created,
            creator=row.get("Creator") or reporter,
            requester=reporter or "",
            body=row.get("Description") or "",
            due=due,
            estimate_hours=estimate,
            comments=comments,
            worklogs=worklogs,
            time_spent_seconds=spent,
        )
        at = resolved if resolved and resolved >= created else max(updated, created)
        item.time_spent_at = at
        item.snapshots.append(
            Snapshot(
                line=row.line,
                at=created,
                rev=(created.isoformat(), -1),
                actor=item.creator,
                state=INITIAL,
                group=row.get(group_col),
                assignee=row.get("Assignee"),
                priority=row.get("Priority"),
                fields=fields,
                facts={},
                title=row.get("Summary"),
            )
        )
        item.snapshots.append(
            Snapshot(
                line=row.line,
                at=at,
                rev=(updated.isoformat(), 0),
                actor=None,
                state=status,
                group=row.get(group_col),
                assignee=row.get("Assignee"),
                priority=row.get("Priority"),
                fields=fields,
                facts=facts,
                title=row.get("Summary"),
            )
        )
        items.append(item)
    notes = [
        f"{len(table.rows)} issues; Jira exports no history: each issue is created at "
        "Created and moved to its current state at Resolved (done) or Updated",
    ]
    if "Time Spent" in headers or "Log Work" in headers:
        notes.append(
            "time spent: each Log Work cell is a worklog by its author; Time Spent not "
            "covered by them is one worklog by the assignee at Resolved (or Updated)"
        )
    if mapping.tz is None:
        notes.append("times read as UTC (the export has no zone; say which with --tz)")
    src = Source(
        system="jira",
        file=name,
        items=items,
        rows=len(table.rows),
        problems=problems,
        notes=notes,
        kept_fields=kept,
        unused_columns=unused,
    )
    src.state_hints = {
        (r.get("Status") or ""): CATEGORY_OF_STATUS_CATEGORY.get(r.get("Status Category") or "")
        for r in table.rows
    }
    return src
