"""The SLA pane: open items by time left on their nearest target, redrawn when a countdown
on screen reads differently; or (``o``) the drifting ones first.  It never touches the
database: it ticks from the cached due times of its rows."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta

from ...domain import targets as sla_view
from ...domain.forecast import late_by
from ...store.panes import SlaRow
from ..text import clean, duration
from .grid import Cell, Column, Row
from .pane import Pane

SLA_LABEL = {
    "ok": "ok",
    "warning": "warn",
    "breached": "BREACH",
    "paused": "paused",
    "met": "met",
    "drift": "DRIFT",
}


def _texts(r: SlaRow) -> tuple[Cell, str | None, Cell]:
    """An SLA row's cleaned texts: its key and title cells, and the owner (shortened to
    the column when drawn)."""
    return (clean(r.key), None), (clean(r.owner) if r.owner else None), (clean(r.title), None)


def text_wait(left: float) -> float:
    """Seconds until a countdown with ``left`` seconds reads differently in the one time
    format (``domain.sla.format_remaining``: seconds under a minute, then minutes, then
    hours from a day), counting down to zero and then up past it."""
    s = int(abs(left))
    unit = 1 if s < 60 else 60 if s < 86400 else 3600
    if left > 0:
        return left - unit * (s // unit)
    return unit * (s // unit + 1) - abs(left)


def _change_wait(row: SlaRow, t: sla_view.Target | None, now: datetime) -> float | None:
    """Seconds until a row whose nearest target is ``t`` reads differently, if it counts
    under an hour (None: paused, none, or an hour or more away: the minute tick)."""
    if t is None or t.state == "paused":
        return None  # a paused countdown stands still
    left = t.left.total_seconds()
    if abs(left) >= 3600:
        return None
    wait = text_wait(left)
    for at in (row.sla_fr_warn, row.sla_res_warn, row.sla_fr_due, row.sla_res_due, row.due_at):
        if at is not None and at > now:  # its state (or its nearest target) changes
            wait = min(wait, (at - now).total_seconds())
    return wait


def _soonest_crossing(rows: Sequence[SlaRow], now: datetime) -> datetime | None:
    """When the first countdown of ``rows`` still running (not paused, not breached)
    reaches zero."""
    soonest: datetime | None = None
    for r in rows:
        t = sla_view.nearest(r, now)
        if t is not None and t.state not in ("paused", "breached"):
            due = now + t.left
            soonest = due if soonest is None else min(soonest, due)
    return soonest


class SlaPane(Pane):
    """Open items by time left on their nearest SLA target, redrawn when a countdown reads
    differently; or (``o``) the drifting ones first, the latest finish first, then the rest
    by time left."""

    #: Orders ``o`` cycles through, and the pane title that says which one is on.
    ORDERS = {"due": "SLA", "drift": "SLA \u00b7 by drift, latest first"}

    COLUMNS = (
        Column("state", "State", 6),
        Column("left", "Left", 7, "right"),
        Column("key", "Item", 8),
        Column("owner", "Owner", 6, priority=3),
        #: at least 12 cells: at 80 columns the owner gives way to the title
        Column("title", "Title", 12, flex=True, priority=1),
        Column("target", "Tgt", 4, priority=3),
    )

    def __init__(self, now: Callable[[], datetime]) -> None:
        super().__init__(
            "SLA", self.COLUMNS, id="sla", empty_text="no open item has an SLA target or due time"
        )
        self._now = now
        self.order = "due"
        self.items: tuple[SlaRow, ...] = ()
        self._signature: tuple[object, ...] = ()
        self._announced: set[str] = set()
        self._owners: tuple[str, ...] = ()
        #: The soonest instant a shown countdown reaches zero (the tick scans only then).
        self._next_crossing: datetime | None = None
        #: (rows, valid until, next crossing): see :meth:`next_crossing`.
        self._crossing_kept: tuple[tuple[SlaRow, ...], datetime, datetime | None] | None = None
        #: Each row's cleaned text cells (key, owner, title) by the row's id (the row is
        #: kept beside them, so an id is never mistaken): computed once per row, not on
        #: every tick, and without hashing every row on every change.
        self._texts: dict[int, tuple[SlaRow, tuple[Cell, str | None, Cell]]] = {}
        #: The rows last handed to show() (the model hands out the same objects again).
        self._shown: tuple[SlaRow, ...] = ()
        #: As of the last comparison: for which rows and view, and when a visible
        #: countdown under an hour next reads differently (the app ticks then).
        self._change: tuple[tuple[object, ...], datetime | None] = ((), None)

    def show(self, rows: Sequence[SlaRow]) -> None:
        rows = tuple(rows)
        if rows == self._shown and self.items:
            return  # the same rows (the model hands out the same objects): nothing to do
        self._shown = rows
        if set(rows) == set(self.items) and len(rows) == len(self.items) and self.items:
            return  # the same rows: the tick keeps their countdowns and order current
        kept = self._same_order(rows)
        if kept is not None:
            self._show_items(kept)  # e.g. an owner changed: nothing that orders the rows
            return
        now = self._now()
        by_drift = self.order == "drift"

        def order(r: SlaRow) -> tuple[float, ...]:
            t = sla_view.nearest(r, now)
            left = t.left.total_seconds() if t else float("inf")
            if by_drift:
                late = late_by(r.drift_note) if self._marked_drift(r, t) else None
                return (late is None, -(late or 0.0), left, r.id)
            return (left, r.id)

        self._show_items(tuple(sorted(rows, key=order)))

    def _same_order(self, rows: tuple[SlaRow, ...]) -> tuple[SlaRow, ...] | None:
        """``rows`` in the order shown now, when they are the same items and none changed
        what orders them (its targets, its drift); else None (sort them)."""
        if not self.items or len(rows) != len(self.items):
            return None
        by_id = {r.id: r for r in rows}
        out = []
        for old in self.items:
            new = by_id.get(old.id)
            if new is None:
                return None
            if new is not old and not (
                sla_view.same_targets(old, new)
                and (old.drifting, old.drift_note) == (new.drifting, new.drift_note)
            ):
                return None
            out.append(new)
        return tuple(out)

    def _show_items(self, items: tuple[SlaRow, ...]) -> None:
        self.items = items
        texts = self._texts
        self._texts = {
            id(r): texts[id(r)] if id(r) in texts and texts[id(r)][0] is r else (r, _texts(r))
            for r in self.items
        }
        self._owners = self.names_of(sorted({r.owner for r in self.items if r.owner}))
        self._next_crossing = None  # scan at the next tick
        # only the lines whose row changed are redrawn; the tick compares countdowns with
        # what it last drew, line by line
        self.set_rows([Row(r.key, (), source=r) for r in self.items])
        self._redraw_changed_lines(drawn=True)

    def cycle_order(self) -> str:
        """The next order (``o``): re-sorts the rows and says the order in the title."""
        names = list(self.ORDERS)
        self.order = names[(names.index(self.order) + 1) % len(names)]
        self.border_title = self.ORDERS[self.order]
        rows, self.items = self.items, ()
        self.show(rows)
        return self.order

    @staticmethod
    def _marked_drift(r: SlaRow, t: sla_view.Target | None) -> bool:
        """Shown as DRIFT: the forecast says it drifts and it has not breached yet."""
        return r.drifting and t is not None and t.state != "breached"

    def row_for(self, key: Hashable | None) -> SlaRow | None:
        for r in self.items:
            if r.key == key:
                return r
        return None

    def state_of(self, row: SlaRow) -> str:
        t = sla_view.nearest(row, self._now())
        return t.state if t else "ok"

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        r = self.items[index]
        return self._cells(r, sla_view.nearest(r, self._now()))

    def _owner_cell(self, owner: str | None) -> Cell:
        if owner is None:
            return ("-", "flag-unowned")
        return (self.short_name(owner, "owner", self._owners), None)

    def _cells(self, r: SlaRow, t: sla_view.Target | None) -> tuple[Cell, ...]:
        entry = self._texts.get(id(r))
        if entry is None or entry[0] is not r:
            entry = self._texts[id(r)] = (r, _texts(r))
        key, owner, title = entry[1]
        if t is None:
            return (("met", "sla-met"), ("", None), key, ("", None), title, ("", None))
        style = f"sla-{t.state}"
        # Not breached yet, but the forecast says it will be: its own marker and colour.
        label = "drift" if self._marked_drift(r, t) else t.state
        return (
            (SLA_LABEL[label], "sla-drift" if label == "drift" else style),
            (duration(t.left.total_seconds()), style),
            key,
            self._owner_cell(owner),
            title,
            (t.short, "dim"),
        )

    def _redraw_changed_lines(self, *, drawn: bool = False) -> None:
        """Redraw the visible lines whose text changed since they were last compared
        (countdowns, state labels); nothing else.  ``drawn``: every line was just
        redrawn from the current cells if there was nothing to compare with.  Notes
        when a visible countdown under an hour next reads differently
        (:meth:`next_change_in`)."""
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        now = self._now()
        rows: list[tuple[object, ...]] = []
        soonest: float | None = None
        for r in self.items[top : top + height]:
            t = sla_view.nearest(r, now)
            if t is None:
                rows.append((r,))
                continue
            # what the line shows beyond the row itself (see _cells): the countdown, the
            # state, and the owner as short as the column and the other owners make it
            entry = self._texts.get(id(r))
            owner = entry[1][1] if entry is not None and entry[0] is r else clean(r.owner)
            left = t.left.total_seconds()
            rows.append((r, t.state, t.short, duration(left), self._owner_cell(owner or None)))
            wait = _change_wait(r, t, now)
            if wait is not None and (soonest is None or wait < soonest):
                soonest = wait
        at = None if soonest is None else now + timedelta(seconds=soonest)
        self._change = (self._view_key(), at)
        signature = tuple(rows)
        old, self._signature = self._signature, signature
        if signature == old:
            return
        if not old and drawn:
            return
        self.refresh_rows(
            top + n
            for n in range(max(len(old), len(signature)))
            if n >= len(old) or n >= len(signature) or old[n] != signature[n]
        )

    def _view_key(self) -> tuple[object, ...]:
        return (id(self.items), round(self.scroll_y), self.scrollable_content_region.height)

    def _next_change(self, now: datetime) -> datetime | None:
        """When a visible countdown under an hour next shows other text: its figure (every
        second under a minute, every minute under an hour) or its state (a warning or a
        due instant).  None when no visible countdown is under an hour."""
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        soonest: float | None = None
        for r in self.items[top : top + height]:
            wait = _change_wait(r, sla_view.nearest(r, now), now)
            if wait is not None and (soonest is None or wait < soonest):
                soonest = wait
        return None if soonest is None else now + timedelta(seconds=soonest)

    def next_change_in(self, now: datetime) -> float | None:
        """Seconds until a visible countdown under an hour reads differently (the app
        ticks then), or None when none is in view.  Answered from the last comparison
        while the rows and the view are the same and that moment is still ahead."""
        key, at = self._change
        if key != self._view_key() or (at is not None and at <= now):
            at = self._next_change(now)
            self._change = (self._view_key(), at)
        return None if at is None else max(0.0, (at - now).total_seconds())

    def tick(self) -> list[SlaRow]:
        """Redraw if any visible countdown changed; return rows that just breached."""
        if not self.items:
            return []
        self._redraw_changed_lines()
        now = self._now()
        if self._next_crossing is not None and now < self._next_crossing:
            return []  # no countdown can have crossed zero yet: skip the scan
        breached = []
        for r in self.items:
            t = sla_view.nearest(r, now)
            if t is not None and t.state == "breached" and r.key not in self._announced:
                self._announced.add(r.key)
                if t.left.total_seconds() > -5:  # crossed since the last load
                    breached.append(r)
        nxt = _soonest_crossing(self.items, now)
        self._next_crossing = nxt if nxt is not None else now + timedelta(hours=1)
        return breached

    def next_crossing(self, now: datetime) -> datetime | None:
        """When the soonest countdown in the pane reaches zero (a breach to announce), for
        the app's tick timer.  Every applied change asks: the answer is kept for the same
        rows until that moment, and at most a minute (a target that becomes an item's
        nearest as its warning starts can move it earlier; ticks come once a minute
        anyway).  Kept apart from :meth:`tick`'s own mark, which says what it announced."""
        kept = self._crossing_kept
        if kept is not None and kept[0] is self.items and now < kept[1]:
            return kept[2]
        soonest = _soonest_crossing(self.items, now)
        until = now + timedelta(minutes=1)
        self._crossing_kept = (self.items, min(until, soonest) if soonest else until, soonest)
        return soonest
