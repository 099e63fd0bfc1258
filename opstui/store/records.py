"""The records store functions return: plain frozen dataclasses, safe to hand to another
thread, importable without SQLAlchemy (the CLI's light read path, ``store.lite``, builds
them too).  ``store.queries`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ItemRecord:
    id: int
    key: str
    title: str
    body: str
    kind: str
    priority: int
    queue: str
    queue_name: str
    status: str
    category: str
    owner: str | None
    owner_name: str | None
    requester: str
    estimate_hours: float | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    due_at: datetime | None
    approval: str
    version: int
    parent_id: int | None
    sla_policy: str | None
    sla_fr_due: datetime | None
    sla_res_due: datetime | None
    sla_paused_since: datetime | None
    sla_fr_state: str | None
    sla_res_state: str | None
    next_due_at: datetime | None
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    sla_fr_warn: datetime | None = None
    sla_res_warn: datetime | None = None
    sla_res_start: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.category != "done"

    @property
    def priority_label(self) -> str:
        return f"P{self.priority}"


@dataclass(frozen=True)
class ItemFilter:
    """What an item list shows.  ``None`` means no filter on that field.

    ``owner`` may be a handle or ``"-"`` for unowned items.  ``open_only`` hides done items.
    """

    queue: str | None = None
    owner: str | None = None
    status: str | None = None
    priority: int | None = None
    kind: str | None = None
    text: str | None = None
    open_only: bool = False
    sla_state: str | None = None
    #: Only items the forecast says will miss their date (``figures_sql.drifting``).
    drifting: bool = False

    def describe(self) -> str:
        parts = []
        for name in ("queue", "owner", "status", "kind", "sla_state"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={'unowned' if value == '-' else value}")
        if self.priority:
            parts.append(f"priority=P{self.priority}")
        if self.text:
            parts.append(f"text~{self.text}")
        if self.drifting:
            parts.append("drifting")
        if self.open_only:
            parts.append("open")
        return " ".join(parts) or "all items"


@dataclass(frozen=True)
class TransitionRecord:
    id: int
    from_state: str
    to_state: str
    name: str
    requires_approval: bool
    actions: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CommentRecord:
    id: int
    author: str | None
    unix_user: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class EventRecord:
    id: int
    ts: datetime
    unix_user: str
    person: str | None
    entity: str
    entity_id: int | None
    item_id: int | None
    item_key: str | None
    field: str
    old: str | None
    new: str | None
    item_version: int | None
