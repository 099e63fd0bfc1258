"""Messages that carry immutable snapshots from thread workers to the main thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.message import Message

from ..store.panes import OwnerStat, QueueStat, SlaRow
from ..store.queries import EventRecord, ItemRecord

PANES = frozenset({"queues", "owners", "sla"})


@dataclass(frozen=True)
class PaneData:
    """What one pane load read (``None`` = that pane was not reloaded)."""

    queues: tuple[QueueStat, ...] | None
    owners: tuple[OwnerStat, ...] | None
    sla: tuple[SlaRow, ...] | None
    loaded_at: datetime
    #: last_event_id read in the same snapshot (full reloads only).
    cursor: int | None = None
    #: Why everything was reloaded (None: a delta was applied).
    reloaded: str | None = None
    #: An item's due time or warning instant may have moved.
    due_moved: bool = True


@dataclass(frozen=True)
class DataChange:
    """What a batch of events touched, handed to every screen."""

    item_ids: frozenset[int] = frozenset()
    created: bool = False
    people: bool = False
    queues: bool = False
    everything: bool = False


class PanesLoaded(Message):
    def __init__(self, data: PaneData) -> None:
        super().__init__()
        self.data = data


class PanesFailed(Message):
    """Applying a change to the pane data failed (the next change reloads it whole)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class Prepared(Message):
    """Fresh data for an action's form (the item as of now, pickers' choices)."""

    def __init__(self, kind: str, item: ItemRecord | None, extra: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.item = item
        self.extra = extra


class ActionDone(Message):
    def __init__(self, text: str, events: list[EventRecord], key: str | None) -> None:
        super().__init__()
        self.text = text
        self.events = events
        self.key = key


class ActionFailed(Message):
    def __init__(
        self, text: str, *, conflict_key: str | None = None, events: list[EventRecord] | None = None
    ) -> None:
        super().__init__()
        self.text = text
        self.conflict_key = conflict_key
        self.events = events or []


@dataclass(frozen=True)
class ItemDetail:
    item: ItemRecord
    comments: tuple[Any, ...]
    events: tuple[EventRecord, ...]
    next_states: tuple[str, ...] = field(default=())
    #: Time logged on the item (``opstui log``, ``t``), in seconds.
    logged_seconds: int = 0
    #: What the forecast said at its last look, when the item drifts (else None).
    drift: str | None = None
