"""Time spent, from the source: its worklogs and its own total.

Rules (the README's Jira section says the same):

- Each worklog of the source (a Jira ``Log Work`` cell) becomes one worklog row: its
  author (mapped like every other person of the source; an author the mapping does not
  name is reported and nothing is imported), its start time, its seconds and its comment
  as the note.  Its identity is its content, kept in the row's unique ``source``: importing
  the same export again adds nothing, a newer export adds only the entries it did not
  have.  An entry edited in the source is a new entry; entries deleted in the source stay.
- Time the source counts in its total (Jira's ``Time Spent``) that its worklogs do not
  cover becomes one more row, by the item's assignee as the export shows it, at Resolved
  (else Updated), its note saying it is the rest of the source's total.  A newer export
  sets that row to the new difference, or removes it when the worklogs now cover the total.
- Each row written is a ``logged`` event at the work's time, as ``opstui log`` records one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...domain import models
from ...domain.sla import format_remaining
from ...importers.model import SourceItem, SourceWorklog
from ...store import worklog as wq
from ...store.bulk import insert_many
from ..context import Ctx
from .resolve import Resolved

WORKLOG = models.WorkLog.__table__
EVENT = models.Event.__table__


@dataclass
class WorklogPlan:
    """What one item's time spent needs: new worklogs, and the row for the rest of the
    source's total (``rest_seconds`` 0: no such row)."""

    new: list[SourceWorklog] = field(default_factory=list)
    rest_source: str = ""
    rest_seconds: int = 0
    rest_stored: int | None = None
    rest_at: datetime | None = None
    rest_owner: str | None = None
    total_label: str = "Time Spent"
    system: str = ""
    total_seconds: int = 0

    @property
    def rest_changes(self) -> bool:
        return self.rest_seconds != (self.rest_stored or 0)

    @property
    def creates(self) -> int:
        """Rows this plan adds (a changed rest row is not a new one)."""
        return len(self.new) + (1 if self.rest_seconds and self.rest_stored is None else 0)

    @property
    def changes(self) -> bool:
        return bool(self.new) or self.rest_changes

    @property
    def events(self) -> int:
        """``logged`` events the plan records: one per new worklog, one for the rest."""
        return len(self.new) + self.rest_changes

    def rest_note(self) -> str:
        return (
            f"from {self.system}'s {self.total_label} total "
            f"({format_remaining(self.total_seconds)}): the part its worklogs do not cover"
        )

    def describe(self) -> str:
        parts = []
        if self.new:
            hours = format_remaining(sum(w.seconds for w in self.new))
            parts.append(f"{len(self.new)} worklog{'s' if len(self.new) != 1 else ''} ({hours})")
        if self.rest_changes:
            old = format_remaining(self.rest_stored) if self.rest_stored else "-"
            new = format_remaining(self.rest_seconds) if self.rest_seconds else "-"
            parts.append(f"rest of {self.total_label} {old} -> {new}")
        return ", ".join(parts)


def plan_worklogs(
    system: str, src: SourceItem, stored: dict[str, int], owner: str | None
) -> WorklogPlan | None:
    """The plan for one item, given its stored imported worklogs (source -> seconds) and
    its assignee (our handle) as the export shows it; None when there is nothing."""
    rest_source = f"{system}:{src.key}:rest"
    if not src.worklogs and src.time_spent_seconds is None and rest_source not in stored:
        return None
    covered = sum(w.seconds for w in src.worklogs)
    rest = max(0, (src.time_spent_seconds or 0) - covered)
    return WorklogPlan(
        new=[w for w in src.worklogs if w.source not in stored],
        rest_source=rest_source,
        rest_seconds=rest,
        rest_stored=stored.get(rest_source),
        rest_at=src.time_spent_at or src.created,
        rest_owner=owner,
        system=system,
        total_seconds=src.time_spent_seconds or 0,
    )


def write_worklogs(
    ctx: Ctx,
    res: Resolved,
    person_ids: dict[str, int],
    entries: list[tuple[int, int, WorklogPlan]],
) -> None:
    """Write the plans of ``entries`` (item id, item version, plan): rows in one statement,
    events in another, the rest rows that change one by one."""
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    default_user = ctx.db.unix_user

    def event(
        item_id: int, version: int, at: datetime, user: str, pid: int | None, old: Any, new: Any
    ) -> None:
        events.append(
            {
                "ts": at,
                "unix_user": user,
                "person_id": pid,
                "entity": "item",
                "entity_id": item_id,
                "item_id": item_id,
                "field": "logged",
                "old": old,
                "new": new,
                "item_version": version,
            }
        )

    for item_id, version, wp in entries:
        for w in wp.new:
            handle = res.people.get(w.author) if w.author else None
            pid = person_ids.get(handle) if handle else None
            user = w.author or default_user
            rows.append(
                {
                    "item_id": item_id,
                    "person_id": pid,
                    "unix_user": user,
                    "seconds": w.seconds,
                    "note": w.note,
                    "at": w.at,
                    "created_at": ctx.now,
                    "source": w.source,
                }
            )
            shown = format_remaining(w.seconds) + (f" by {handle}" if handle else "")
            event(item_id, version, w.at, user, pid, None, shown)
        if not wp.rest_changes:
            continue
        at = wp.rest_at or ctx.now
        pid = person_ids.get(wp.rest_owner) if wp.rest_owner else None
        by = f" by {wp.rest_owner}" if wp.rest_owner else ""
        old = format_remaining(wp.rest_stored) if wp.rest_stored else None
        new = f"{format_remaining(wp.rest_seconds)}{by} (rest of {wp.total_label})"
        if wp.rest_stored is None:
            rows.append(
                {
                    "item_id": item_id,
                    "person_id": pid,
                    "unix_user": default_user,
                    "seconds": wp.rest_seconds,
                    "note": wp.rest_note(),
                    "at": at,
                    "created_at": ctx.now,
                    "source": wp.rest_source,
                }
            )
        elif wp.rest_seconds:
            wq.set_imported_worklog(
                ctx.conn,
                wp.rest_source,
                seconds=wp.rest_seconds,
                at=at,
                person_id=pid,
                note=wp.rest_note(),
            )
        else:
            wq.delete_imported_worklog(ctx.conn, wp.rest_source)
            new = f"none (the worklogs cover {wp.total_label})"
        event(item_id, version, at, default_user, None, old, new)
    if rows:
        insert_many(ctx.conn, WORKLOG, rows)
    if events:
        insert_many(ctx.conn, EVENT, events)
