"""The item list: a virtual GridView over a list of ids, rows fetched by id on demand."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime

from textual.geometry import Region
from textual.message import Message

from ...domain import targets as sla_view
from ...store.queries import ItemRecord
from ..text import age, clean, duration, hours
from .grid import Cell, Column, GridView

#: Rows fetched around the visible window per request.
PAGE = 120
#: What an empty list says before its ids have arrived, and after.
LOADING = "loading\u2026"
EMPTY = "no items match"


class ItemTable(GridView):
    COLLAPSE_EMPTY = True
    COLUMNS = (
        #: marked for a bulk action (collapses while nothing is marked)
        Column("mark", "", 1),
        Column("key", "Key", 8),
        Column("prio", "P", 2),
        Column("status", "Status", 11, priority=1),
        Column("owner", "Owner", 9),
        Column("queue", "Queue", 9, priority=3),
        Column("est", "Est", 4, "right", priority=4),
        Column("age", "Age", 4, "right", priority=2),
        Column("due", "Due", 7, "right", priority=2),
        #: at least 28 cells: less important columns go first at 80 columns
        Column("title", "Title", 28, flex=True),
    )
    #: Columns that collapse when blank for every loaded row (position, blank test).
    _COLLAPSIBLE = {
        5: lambda r: r.estimate_hours is None,
        7: lambda r: (
            not r.is_open
            or (r.next_due_at is None and r.sla_fr_due is None and r.sla_res_due is None)
        ),
    }

    class NeedRows(Message):
        """Ids on (or near) screen whose records are not loaded yet."""

        def __init__(self, table: ItemTable, ids: list[int]) -> None:
            super().__init__()
            self.table = table
            self.ids = ids

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(self.COLUMNS, id=id, empty_text=LOADING)
        self._now = now
        self.ids: list[int] = []
        self.records: dict[int, ItemRecord] = {}
        self._requested: set[int] = set()
        #: Ids marked for a bulk action.
        self.marked: set[int] = set()
        self._check_pending = False
        #: (first visible row, due cell of each visible row) at the last tick
        self._due_shown: tuple[int, list[Cell | None]] = (-1, [])

    # --- source ------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self.ids)

    def row_key(self, index: int) -> Hashable | None:
        if 0 <= index < len(self.ids):
            return self.ids[index]
        return None

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        rec = self.records.get(self.ids[index])
        if rec is None:
            self._schedule_check()
            return None
        mark: Cell = ("\u25cf", "bold") if rec.id in self.marked else ("", None)
        return (mark, *item_cells(rec, self._now()))

    def set_ids(self, ids: list[int], *, keep_cursor: bool = True, loading: bool = False) -> None:
        """Show these ids (``loading``: a new query is on its way, say so while empty)."""
        self.empty_text = LOADING if loading else EMPTY
        key = self.cursor_key if keep_cursor else None
        self.ids = list(ids)
        self.marked &= set(self.ids)
        self._requested.clear()
        if key is not None and key in ids:
            self.cursor = self.ids.index(key)
        else:
            self.cursor = 0 if not keep_cursor else min(self.cursor, max(0, len(ids) - 1))
        self._clamp_cursor()
        self._update_virtual_size()
        self.scroll_to_cursor()
        self.columns_changed()
        self._schedule_check()

    def add_records(self, records: Sequence[ItemRecord]) -> None:
        for r in records:
            self.records[r.id] = r
            self._requested.discard(r.id)
        self.columns_changed()

    def empty_columns(self) -> set[int]:
        """Est and Due collapse when blank for every loaded row of the list."""
        shown = [self.records[i] for i in self.ids if i in self.records]
        if not shown:
            return set()
        empty = {pos for pos, blank in self._COLLAPSIBLE.items() if all(blank(r) for r in shown)}
        if not self.marked:
            empty.add(0)
        return empty

    # --- marks -------------------------------------------------------------------------

    def toggle_mark(self, index: int | None = None, *, on: bool | None = None) -> None:
        key = self.row_key(self.cursor if index is None else index)
        if not isinstance(key, int):
            return
        if on is None:
            on = key not in self.marked
        if on:
            self.marked.add(key)
        else:
            self.marked.discard(key)
        self.columns_changed()

    def mark_all(self) -> None:
        """Mark every shown row; if all are marked already, clear the marks."""
        self.marked = set() if self.marked >= set(self.ids) else set(self.ids)
        self.columns_changed()

    def clear_marks(self) -> None:
        self.marked.clear()
        self.columns_changed()

    @property
    def marked_ids(self) -> list[int]:
        """Ids of the marked rows in list order."""
        return [i for i in self.ids if i in self.marked]

    def forget(self, ids: Sequence[int]) -> None:
        """Drop cached rows (changed elsewhere): they are fetched again when visible."""
        for i in ids:
            self.records.pop(i, None)
            self._requested.discard(i)
        self._schedule_check()

    @property
    def cursor_record(self) -> ItemRecord | None:
        key = self.cursor_key
        return self.records.get(key) if isinstance(key, int) else None

    def tick(self) -> None:
        """Once a second: redraw only the visible rows whose countdown text changed."""
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height - self._header_lines)
        now = self._now()
        shown: list[Cell | None] = []
        for i in self.ids[top : top + height]:
            rec = self.records.get(i)
            shown.append(item_cells(rec, now)[7] if rec is not None and rec.is_open else None)
        old = self._due_shown
        self._due_shown = (top, shown)
        if old[0] != top or len(old[1]) != len(shown):
            return  # scrolled or reloaded: that already redrew
        width = self.size.width
        for n, (a, b) in enumerate(zip(old[1], shown, strict=True)):
            if a != b:
                self.refresh(Region(0, n + self._header_lines, width, 1))

    # --- fetching ----------------------------------------------------------------------

    def _schedule_check(self) -> None:
        if not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self._check_missing)

    def _check_missing(self) -> None:
        self._check_pending = False
        if not self.ids:
            return
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        lo = max(0, top - PAGE // 4)
        hi = min(len(self.ids), top + height + PAGE // 2)
        missing = [i for i in self.ids[lo:hi] if i not in self.records and i not in self._requested]
        if missing:
            self._requested.update(missing)
            self.post_message(self.NeedRows(self, missing))
        if len(self.records) > 20_000:  # bound memory on huge lists: keep the window only
            keep = set(self.ids[lo:hi])
            self.records = {k: v for k, v in self.records.items() if k in keep}

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._schedule_check()


def item_cells(rec: ItemRecord, now: datetime) -> tuple[Cell, ...]:
    due: Cell = ("", None)
    if rec.is_open:
        t = sla_view.nearest(rec, now)
        if t is not None:
            due = (duration(t.left.total_seconds()), f"sla-{t.state}")
    status_style = "dim" if rec.category == "done" else None
    return (
        (clean(rec.key), "dim" if rec.category == "done" else None),
        (rec.priority_label, "bold" if rec.priority == 1 else None),
        (clean(rec.status), status_style),
        (clean(rec.owner), None) if rec.owner else ("-", "flag-unowned" if rec.is_open else "dim"),
        (clean(rec.queue), None),
        ("" if rec.estimate_hours is None else hours(rec.estimate_hours), None),
        (age(now, rec.created_at), None),
        due,
        (clean(rec.title), status_style),
    )
