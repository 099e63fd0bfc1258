"""The neutral shape every importer produces, and the problems it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import OpsError


@dataclass(frozen=True)
class Problem:
    """One thing in the source that was refused (``error``) or passed over (``skipped``)."""

    file: str
    line: int | None
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


class ImportError_(OpsError):  # noqa: N801  (``ImportError`` is a builtin)
    """The source cannot be imported; ``problems`` lists every refused row."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


#: The state label of a snapshot that stands for "the first state of the workflow" (an
#: export without history: the item is created there and moved on later).
INITIAL = "\x00initial"

#: A snapshot value that the source did not give (as opposed to an explicit empty value).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


@dataclass
class Snapshot:
    """The item as one source row shows it, at ``at``, changed by ``actor``.

    Values are source labels (state "Awaiting User Info", group "Group 56", priority
    "3 - Moderate", assignee "Resolver 12"); ``None`` is an explicit empty value.
    """

    line: int
    at: datetime
    rev: tuple[str, int]
    actor: str | None
    state: str
    group: str | None
    assignee: str | None
    priority: str | None
    fields: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    title: str | None = None


@dataclass
class SourceComment:
    line: int
    at: datetime
    author: str | None
    body: str


@dataclass
class SourceWorklog:
    """Time spent on an item as the source logged it (Jira's ``Log Work`` cells).

    ``source`` is its identity for re-import (the worklog table's unique ``source``).
    """

    line: int
    at: datetime
    author: str | None
    seconds: int
    note: str
    source: str


@dataclass
class SourceItem:
    key: str
    title: str
    kind: str
    created: datetime
    creator: str | None
    requester: str
    body: str = ""
    snapshots: list[Snapshot] = field(default_factory=list)
    comments: list[SourceComment] = field(default_factory=list)
    due: datetime | None = None
    estimate_hours: float | None = None
    worklogs: list[SourceWorklog] = field(default_factory=list)
    #: The source's own total of time spent (Jira's ``Time Spent``), when it has one.
    time_spent_seconds: int | None = None
    #: When a total not explained by ``worklogs`` is logged (resolved, else updated).
    time_spent_at: datetime | None = None

    @property
    def line(self) -> int:
        return self.snapshots[0].line if self.snapshots else 0


@dataclass
class Source:
    """A whole parsed file: its items, what was passed over, and notes for the report."""

    system: str
    file: str
    items: list[SourceItem]
    rows: int
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Source columns kept as named fields on items.
    kept_fields: list[str] = field(default_factory=list)
    #: Source columns read by nothing (reported, never dropped silently).
    unused_columns: list[str] = field(default_factory=list)
    #: Category hints for source states (Jira's "Status Category"), used when deriving.
    state_hints: dict[str, str | None] = field(default_factory=dict)
