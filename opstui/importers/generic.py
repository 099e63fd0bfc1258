"""Any other tool's CSV, read through the ``[columns]`` table of a mapping file.

``[columns]`` names the source column for each of ours: ``key`` and ``state`` and
``created`` or ``updated`` are required; ``title``, ``queue``, ``assignee``, ``priority``,
``actor``, ``requester``, ``body``, ``kind``, ``due`` and ``estimate`` (hours) are
optional.  Several rows with the same key are that item's history, in ``updated`` order.
"""

from __future__ import annotations

from pathlib import Path

from .csvfile import read_table
from .dates import DateParser
from .mapping import Mapping
from .model import ImportError_, Problem, Snapshot, Source, SourceItem

OURS = (
    "key",
    "title",
    "state",
    "queue",
    "assignee",
    "priority",
    "created",
    "updated",
    "actor",
    "requester",
    "body",
    "kind",
    "due",
    "estimate",
)
DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
NULLS = ("",)


def parse(path: str | Path, mapping: Mapping) -> Source:
    cols = mapping.columns
    where = f"{mapping.file or 'the mapping'}: [columns]"
    if not cols:
        raise ImportError_(f"{where} is missing: it names the source column for each field")
    bad = sorted(set(cols) - set(OURS))
    if bad:
        raise ImportError_(f"{where} unknown field {bad[0]!r} (fields: {', '.join(OURS)})")
    for need in ("key", "state"):
        if need not in cols:
            raise ImportError_(f"{where} needs {need!r}")
    if "created" not in cols and "updated" not in cols:
        raise ImportError_(f"{where} needs 'created' or 'updated'")
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter)
    name = table.file
    missing = [f"{k} = {v!r}" for k, v in cols.items() if v not in table.headers]
    if missing:
        raise ImportError_(
            f"{name}:1: no column for {missing[0]} (columns: {', '.join(table.headers[:10])})"
        )
    dates = DateParser(
        [mapping.date_format] if mapping.date_format else DATE_FORMATS, mapping.zone()
    )
    used = set(cols.values())
    ignore = set(mapping.ignore_fields)
    kept = (
        list(mapping.keep_fields)
        if mapping.keep_fields is not None
        else [h for h in table.headers if h not in used and h not in ignore]
    )
    unused = [h for h in table.headers if h not in used and h not in kept]
    problems = list(table.problems)

    def get(row, field: str) -> str | None:  # type: ignore[no-untyped-def]
        return row.get(cols[field], NULLS) if field in cols else None

    by_key: dict[str, list] = {}  # type: ignore[type-arg]
    for row in table.rows:
        key = get(row, "key")
        if key is None:
            problems.append(Problem(name, row.line, f"no {cols['key']}"))
            continue
        try:
            created = dates(get(row, "created")) if get(row, "created") else None
            updated = dates(get(row, "updated")) if get(row, "updated") else created
            if updated is None:
                raise ValueError(f"no {cols.get('updated') or cols.get('created')} time")
            due = dates(get(row, "due")) if get(row, "due") else None
            est_text = get(row, "estimate")
            estimate = float(est_text) if est_text else None
        except ValueError as exc:
            problems.append(Problem(name, row.line, f"{key}: {exc}"))
            continue
        if get(row, "state") is None:
            problems.append(Problem(name, row.line, f"{key}: no {cols['state']}"))
            continue
        by_key.setdefault(key, []).append((row, updated, created, due, estimate))
    items: list[SourceItem] = []
    for key, rows in by_key.items():
        rows.sort(key=lambda r: (r[1], r[0].line))
        first, _u, created, due, estimate = rows[0]
        created = created or rows[0][1]
        item = SourceItem(
            key=key,
            title=get(first, "title") or key,
            kind=mapping.kind or get(first, "kind") or "task",
            created=created,
            creator=get(first, "actor"),
            requester=get(first, "requester") or "",
            body=get(first, "body") or "",
            due=due,
            estimate_hours=estimate,
        )
        for n, (row, updated, _c, _d, _e) in enumerate(rows):
            item.snapshots.append(
                Snapshot(
                    line=row.line,
                    at=max(updated, created),
                    rev=(updated.isoformat(), n),
                    actor=get(row, "actor"),
                    state=get(row, "state") or "",
                    group=get(row, "queue"),
                    assignee=get(row, "assignee"),
                    priority=get(row, "priority"),
                    fields={c: v for c in kept if (v := row.get(c, NULLS)) is not None},
                    title=get(row, "title"),
                )
            )
        items.append(item)
    notes = [f"{len(table.rows)} rows, {len(items)} items"]
    if mapping.tz is None:
        notes.append("times read as UTC (say which zone with --tz)")
    return Source(
        system="csv",
        file=name,
        items=items,
        rows=len(table.rows),
        problems=problems,
        notes=notes,
        kept_fields=kept,
        unused_columns=unused,
    )
