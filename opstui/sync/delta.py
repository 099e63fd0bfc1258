"""Changes as deltas: which items the events after a cursor touched, and the dashboard's
pane data kept up to date from them (no Textual here, no SQL: the store reads).

:class:`Delta` says what a batch of events touched.  :class:`PaneModel` holds the open
items behind the Queues, Owners/Capacity and SLA panes and derives those panes from them
with the rules of ``domain.figures``; applying a delta re-reads only the changed items
(a query bounded by their ids) and recounts only the queues and owners they were or are
in.  A full reload remains the answer to anything a delta cannot say: events pruned
under the cursor, a schema change, a change to people, queues or workflows, or a burst
too big to be worth applying item by item.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ..domain import figures as fig
from ..store import panes as pane_q
from ..store import queries as q

#: More changed items than this in one batch: reload instead (one pass over the open items
#: is then cheaper than that many look-ups, and the outcome is the same).
MAX_DELTA_ITEMS = 1000

#: Unchanged items' SLA states (breached, warning) are evaluated again, in memory, when a
#: delta comes this long after the last evaluation (a countdown that crosses zero on
#: screen asks for it at once; crossings also arrive as events of the items concerned).
RECOUNT_EVERY = timedelta(seconds=60)

#: Entities whose events change what the panes are made of (people, queues, capacity,
#: workflow categories): those reload everything.
_RELOAD_ENTITIES = frozenset({"person", "queue", "load", "workflow"})

#: The panes the model derives.
PANES = frozenset({"queues", "owners", "sla"})


class _Event(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def entity(self) -> str: ...

    @property
    def item_id(self) -> int | None: ...


@dataclass(frozen=True)
class Delta:
    """What a batch of events touched.  ``reload`` names why a delta will not do."""

    item_ids: frozenset[int] = frozenset()
    reload: str | None = None
    #: The cursor before these events (for the pruned-events check).
    after: int | None = None
    #: The SLA states must be re-evaluated at a later "now" (a countdown crossed zero).
    recount: bool = False

    @classmethod
    def from_events(
        cls, events: Iterable[_Event], after: int | None = None, *, limit: int = MAX_DELTA_ITEMS
    ) -> Delta:
        ids: set[int] = set()
        reload: str | None = None
        for e in events:
            if e.item_id is not None:
                ids.add(e.item_id)
            elif e.entity in _RELOAD_ENTITIES:
                reload = reload or f"{e.entity} changed"
        if reload is None and len(ids) > limit:
            reload = f"{len(ids)} items changed at once"
        return cls(frozenset(ids), reload, after)

    @classmethod
    def full(cls, reason: str) -> Delta:
        return cls(reload=reason)

    @property
    def empty(self) -> bool:
        return not self.item_ids and self.reload is None and not self.recount

    def merge(self, other: Delta) -> Delta:
        """Both deltas as one (the earlier cursor: every event after it is covered)."""
        afters = [a for a in (self.after, other.after) if a is not None]
        ids = self.item_ids | other.item_ids
        reload = self.reload or other.reload
        if reload is None and len(ids) > MAX_DELTA_ITEMS:
            reload = f"{len(ids)} items changed at once"
        return Delta(ids, reload, min(afters) if afters else None, self.recount or other.recount)


@dataclass(frozen=True)
class PaneSnapshot:
    """The panes as of ``now`` (``None``: that pane did not change)."""

    queues: tuple[pane_q.QueueStat, ...] | None
    owners: tuple[pane_q.OwnerStat, ...] | None
    sla: tuple[pane_q.SlaRow, ...] | None
    now: datetime
    #: The last event id this data includes (full reloads only: read in the same snapshot).
    cursor: int | None = None
    #: Why the model reloaded everything (None: a delta was applied).
    reloaded: str | None = None
    #: How many items the delta re-read.
    reread: int = 0
    #: A due time or warning instant of an open item may have moved (the next SLA
    #: crossing must be looked up again); False when e.g. only owners changed.
    due_moved: bool = True


@dataclass
class _Counts:
    open: int = 0
    new: int = 0
    active: int = 0
    unowned: int = 0
    breached: int = 0
    warning: int = 0
    drifting: int = 0
    hours: float = 0.0
    oldest: int | None = None
    ids: set[int] = field(default_factory=set)


class PaneModel:
    """The open items behind the dashboard panes, kept current by deltas.

    Not thread-safe: one worker at a time loads or applies (the app's pane worker group
    is exclusive); what it hands out are immutable tuples.
    """

    def __init__(
        self,
        default_estimate: float = fig.DEFAULT_ESTIMATE_HOURS,
        sla_limit: int = 200,
        recount_every: timedelta = RECOUNT_EVERY,
    ) -> None:
        self.default_estimate = default_estimate
        self.sla_limit = sla_limit
        self.recount_every = recount_every
        #: When every item's SLA state was last evaluated.
        self._evaluated_at: datetime | None = None
        self.loaded = False
        self.items: dict[int, pane_q.OpenItem] = {}
        #: SLA state of each item as last evaluated: (breached, warning).
        self._state: dict[int, tuple[bool, bool]] = {}
        #: (next_due_at, id) of the open items with a due time, sorted: the SLA pane's order.
        self._due: list[tuple[datetime, int]] = []
        self._queue_meta: list[pane_q.QueueStat] = []
        self._people: list[pane_q.OwnerStat] = []
        #: The last stat built for each queue and person (None: unowned): a delta builds
        #: again only those it touched, so the others stay the same objects.
        self._queue_stats: dict[int, pane_q.QueueStat] = {}
        self._owner_stats: dict[int | None, pane_q.OwnerStat] = {}
        self._by_queue: dict[int, _Counts] = {}
        self._by_owner: dict[int | None, _Counts] = {}
        self._today: date | None = None
        self._schema: int | None = None
        self.queues: tuple[pane_q.QueueStat, ...] = ()
        self.owners: tuple[pane_q.OwnerStat, ...] = ()
        self.sla: tuple[pane_q.SlaRow, ...] = ()
        #: Counters (for tests and the benchmark).
        self.reloads = 0
        self.deltas = 0

    # --- loading ------------------------------------------------------------------------

    def load(self, conn: Any, now: datetime, reason: str = "first load") -> PaneSnapshot:
        """Read everything (one pass over the open items) in the caller's read snapshot."""
        cursor = q.last_event_id(conn)
        self._schema = q.schema_stamp(conn)
        self._today = now.date()
        self._queue_meta = pane_q.queue_meta(conn)
        self._people = pane_q.people_meta(conn, self._today)
        self.items = {it.id: it for it in pane_q.open_items(conn)}
        self._state = {i: self._evaluate(it, now) for i, it in self.items.items()}
        self._evaluated_at = now
        self._due = sorted(
            (it.next_due_at, i) for i, it in self.items.items() if it.next_due_at is not None
        )
        self._by_queue = {}
        self._by_owner = {}
        for i, it in self.items.items():
            self._counts(self._by_queue, it.queue_id).ids.add(i)
            self._counts(self._by_owner, it.owner_id).ids.add(i)
        for counts in (*self._by_queue.values(), *self._by_owner.values()):
            self._recount(counts)
        self.loaded = True
        self.reloads += 1
        self._queue_stats, self._owner_stats = {}, {}
        self.queues, self.owners, self.sla = self._queues(), self._owners(), self._sla()
        return PaneSnapshot(self.queues, self.owners, self.sla, now, cursor, reason)

    def reload_reason(self, conn: Any, delta: Delta, now: datetime) -> str | None:
        """Why ``delta`` cannot be applied to this model (None: it can)."""
        if not self.loaded:
            return "not loaded"
        if delta.reload:
            return delta.reload
        if self._today != now.date():
            return "a new day (time away and available hours move)"
        if q.schema_stamp(conn) != self._schema:
            return "the schema changed"
        if delta.after is not None and delta.after > 0:
            first = q.first_event_id(conn)
            if first is not None and first > delta.after + 1:
                return f"events {delta.after + 1}..{first - 1} were pruned"
        return None

    def apply(self, conn: Any, delta: Delta, now: datetime) -> PaneSnapshot:
        """Apply ``delta`` (or reload if it cannot be applied) in the caller's snapshot."""
        why = self.reload_reason(conn, delta, now)
        if why is not None:
            return self.load(conn, now, why)
        self.deltas += 1
        touched_q: set[int] = set()
        touched_o: set[int | None] = set()
        sla_changed = False
        due_moved = False
        fresh = {it.id: it for it in pane_q.open_items(conn, delta.item_ids)}
        ids: Iterable[int] = delta.item_ids
        stale = self._evaluated_at is None or now - self._evaluated_at >= self.recount_every
        if delta.recount or stale:
            # time moved on: every open item's SLA state again (in memory, no reads)
            ids = set(self.items) | set(delta.item_ids)
            self._evaluated_at = now
        for i in ids:
            old = self.items.get(i)
            new = fresh.get(i) if i in delta.item_ids else old
            state = self._evaluate(new, now) if new is not None else None
            if old == new and self._state.get(i) == state:
                continue
            if old is not None:
                touched_q.add(old.queue_id)
                touched_o.add(old.owner_id)
                self._by_queue[old.queue_id].ids.discard(i)
                self._by_owner[old.owner_id].ids.discard(i)
                if old.next_due_at is not None:
                    self._due_remove((old.next_due_at, i))
                del self.items[i]
                self._state.pop(i, None)
            if new is not None and state is not None:  # still (or now) open
                touched_q.add(new.queue_id)
                touched_o.add(new.owner_id)
                self.items[i] = new
                self._state[i] = state
                self._counts(self._by_queue, new.queue_id).ids.add(i)
                self._counts(self._by_owner, new.owner_id).ids.add(i)
                if new.next_due_at is not None:
                    bisect.insort(self._due, (new.next_due_at, i))
            sla_changed = sla_changed or _on_sla(old) or _on_sla(new)
            due_moved = due_moved or (i in delta.item_ids and _instants(old) != _instants(new))
        for qid in touched_q:
            self._recount(self._by_queue[qid])
        for oid in touched_o:
            self._recount(self._by_owner[oid])
        queues = owners = sla = None
        if touched_q:
            new_queues = self._queues(touched_q)
            if new_queues != self.queues:
                self.queues = queues = new_queues
        if touched_o:
            new_owners = self._owners(touched_o)
            if new_owners != self.owners:
                self.owners = owners = new_owners
        if sla_changed:
            new_sla = self._sla()
            if new_sla != self.sla:
                self.sla = sla = new_sla
        return PaneSnapshot(
            queues, owners, sla, now, reread=len(delta.item_ids), due_moved=due_moved
        )

    def snapshot(self, now: datetime) -> PaneSnapshot:
        """Every pane as last computed."""
        return PaneSnapshot(self.queues, self.owners, self.sla, now)

    # --- the figures (``domain.figures``) ------------------------------------------------

    @staticmethod
    def _evaluate(it: pane_q.OpenItem, now: datetime) -> tuple[bool, bool]:
        state = fig.item_sla_state(it, now)
        return (state == "breached", state == "warning")

    def _recount(self, c: _Counts) -> None:
        c.open = c.new = c.active = c.unowned = c.breached = c.warning = c.drifting = 0
        hours: list[float] = []
        for i in c.ids:
            it = self.items[i]
            c.open += 1
            category = it.category
            if category == "new":
                c.new += 1
            elif category == "active":
                c.active += 1
            if it.owner_id is None:
                c.unowned += 1
            breached, warning = self._state[i]
            c.breached += breached
            c.warning += warning
            c.drifting += bool(it.row.drifting)
            hours.append(
                self.default_estimate if it.estimate_hours is None else float(it.estimate_hours)
            )
        c.hours = round(math.fsum(hours), 2)
        c.oldest = min(c.ids) if c.ids else None

    @staticmethod
    def _counts(table: dict[Any, _Counts], key: Any) -> _Counts:
        c = table.get(key)
        if c is None:
            c = table[key] = _Counts()
        return c

    def _queues(self, touched: set[int] | None = None) -> tuple[pane_q.QueueStat, ...]:
        """Every queue's stat in attention order; only the ``touched`` ones (all: None)
        are built again."""
        out = []
        built = self._queue_stats
        for meta in self._queue_meta:
            stat = built.get(meta.id)
            if stat is None or touched is None or meta.id in touched:
                c = self._by_queue.get(meta.id) or _Counts()
                oldest = self.items[c.oldest].row.created_at if c.oldest is not None else None
                stat = built[meta.id] = replace(
                    meta,
                    open=c.open,
                    new=c.new,
                    unowned=c.unowned,
                    active=c.active,
                    breaching=c.breached,
                    warning=c.warning,
                    oldest_open_at=oldest,
                )
            out.append(stat)
        return tuple(pane_q.by_attention(out))

    def _owners(self, touched: set[int | None] | None = None) -> tuple[pane_q.OwnerStat, ...]:
        """Every person's stat and the unowned row; only the ``touched`` ones (all:
        None) are built again."""
        out = []
        built = self._owner_stats
        for meta in self._people:
            stat = built.get(meta.id)
            if stat is None or touched is None or meta.id in touched:
                c = self._by_owner.get(meta.id) or _Counts()
                stat = built[meta.id] = replace(
                    meta, open=c.open, breached=c.breached, drifting=c.drifting, hours=c.hours
                )
            if not stat.active and stat.open == 0:
                continue  # people who left and hold nothing are not worth a row
            out.append(stat)
        unowned = built.get(None)
        if unowned is None or touched is None or None in touched:
            c = self._by_owner.get(None) or _Counts()
            unowned = built[None] = pane_q.unowned_row(c.open, c.breached, c.hours, c.drifting)
        out.append(unowned)
        return tuple(out)

    def _sla(self) -> tuple[pane_q.SlaRow, ...]:
        return tuple(self.items[i].row for _due, i in self._due[: self.sla_limit])

    def _due_remove(self, key: tuple[datetime, int]) -> None:
        at = bisect.bisect_left(self._due, key)
        if at < len(self._due) and self._due[at] == key:
            del self._due[at]


def _instants(it: pane_q.OpenItem | None) -> tuple[Any, ...] | None:
    """When an open item's SLA state can next change by itself."""
    if it is None:
        return None
    return (it.next_due_at, it.sla_fr_warn, it.sla_res_warn, it.sla_paused_since)


def _on_sla(it: pane_q.OpenItem | None) -> bool:
    return it is not None and it.next_due_at is not None


def changed_panes(snapshot: PaneSnapshot) -> frozenset[str]:
    """The panes a snapshot carries new data for."""
    names = {"queues": snapshot.queues, "owners": snapshot.owners, "sla": snapshot.sla}
    return frozenset(n for n, v in names.items() if v is not None)
