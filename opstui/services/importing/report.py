"""What an import did (or, with --dry-run, would do)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...importers.mapping import Mapping
from ...importers.model import Problem

# --- the report --------------------------------------------------------------------------


@dataclass
class ImportReport:
    system: str
    file: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    #: Worklog rows added (see ``worklogs``) and the time they add, in seconds.
    worklogs: int = 0
    worklog_seconds: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    batches: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    kept_fields: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    mapping: Mapping | None = None

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        upd = "would update" if self.dry_run else "updated"
        return (
            f"{self.file}: {self.rows} rows; {verb} {self.created} items, {upd} "
            f"{self.updated}, {self.unchanged} unchanged"
            + (
                f"; {'would log' if self.dry_run else 'logged'} {self.worklogs} worklogs "
                f"({self.worklog_seconds / 3600:.2f} h)"
                if self.worklogs or self.worklog_seconds
                else ""
            )
            + (f", {len(self.skipped)} rows skipped" if self.skipped else "")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "events": self.events,
            "worklogs": self.worklogs,
            "worklog_hours": round(self.worklog_seconds / 3600, 2),
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "batches": self.batches,
            "notes": self.notes,
            "skipped": [str(p) for p in self.skipped],
            "kept_fields": self.kept_fields,
            "unused_columns": self.unused_columns,
            "items": self.lines,
        }


Progress = Callable[[int, int], None]
