"""The item list: filterable, virtual (only visible rows are fetched and drawn)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ...store import ordering
from ...store import panes as pane_q
from ...store import queries as q
from ..messages import DataChange
from ..text import clean
from ..widgets.grid import GridView
from ..widgets.item_table import ItemTable
from ..widgets.keybar import KeyBar
from ..widgets.status import StatusBar
from .base import ITEM_BINDINGS, ItemActions

#: Ids fetched before the first paint; the full id list follows.
FIRST_PAGE = 200


class ItemListScreen(ItemActions, Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("f", "filters", "Filter"),
        Binding("o", "toggle_open", "Open/all"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("v", "app.views", "Views"),
        Binding("M", "app.my_work", "Mine", show=False),
        Binding("n", "item('new')", "New"),
        *ITEM_BINDINGS,
        Binding("space", "mark", "Mark"),
        Binding("shift+down", "mark_move(1)", "Mark and move down", show=False),
        Binding("shift+up", "mark_move(-1)", "Mark and move up", show=False),
        Binding("asterisk", "mark_all", "Mark all shown", show=False),
    ]

    def __init__(
        self,
        flt: q.ItemFilter,
        *,
        focus_key: str | None = None,
        search: bool = False,
        sort: str = "urgency",
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.flt = flt
        self.sort = sort
        #: A name for the list (a saved view, "my work"), shown in the header.
        self.title_text = title
        self.focus_key = focus_key
        self.start_search = search
        self._ids_loaded = False
        self._focused_once = False
        self._search_timer: Any = None
        #: Items in the complete id list (None while it loads).
        self._count: int | None = None

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield StatusBar(self.title_text or "items")
        yield Static(id="filterbar")
        yield Input(
            placeholder="search key or title (as you type; Enter to go to the list, Esc to close)",
            id="search",
            compact=True,
        )
        yield ItemTable(app.clock.now, id="items")
        yield Static(id="focus-title")
        yield KeyBar()

    def on_mount(self) -> None:
        search = self.query_one("#search", Input)
        search.display = self.start_search
        if self.flt.text:
            search.value = self.flt.text
        self._show_filter()
        if self.start_search:
            search.display = True
            self.set_focus(search)
        else:
            self.set_focus(self.query_one(ItemTable))
        self.load_ids()

    def _show_filter(self, count: int | None = None) -> None:
        if count is None:
            count = self._count
        self._count = count
        text = Text("Filter: ", style="bold", end="", no_wrap=True, overflow="ellipsis")
        text.append(clean(self.flt.describe()))
        if count is not None:
            text.append(f"  ({count} item{'s' if count != 1 else ''})", style="dim")
        text.append("  sort: ", style="dim")
        text.append(self.sort, style="bold")
        if self.query(ItemTable) and self.query_one(ItemTable).marked:
            n = len(self.query_one(ItemTable).marked)
            text.append(f"  {n} marked: a/m/T/c act on all", style="bold")
        self.query_one("#filterbar", Static).update(text)

    # --- loading ---------------------------------------------------------------------------

    def load_ids(self) -> None:
        self._load_ids(self.flt, self.sort)

    @work(thread=True, exclusive=True, group="list-ids", exit_on_error=False)
    def _load_ids(self, flt: q.ItemFilter, sort: str) -> None:
        """First the top page (paints at once at any size), then every id (ints only)."""
        app: Any = self.app
        worker = get_current_worker()
        now = app.clock.now()

        def ids(conn: Any, limit: int | None) -> list[int]:
            if flt.sla_state == "due" or (flt.sla_state and sort == "urgency"):
                return pane_q.item_ids(conn, flt, now=now, limit=limit)  # soonest due first
            return ordering.sorted_item_ids(conn, flt, sort=sort, now=now, limit=limit)

        with app.db.read() as conn:
            top = ids(conn, FIRST_PAGE)
            first = q.items_by_ids(conn, top[:80]) if top else []
            focus = None
            if self.focus_key and not self._ids_loaded:
                focus = q.get_item(conn, self.focus_key)
                if focus is not None:
                    first.append(focus)
        if worker.is_cancelled:
            return
        complete = len(top) < FIRST_PAGE
        if complete or not self._ids_loaded:
            self.post_message(self.IdsLoaded(flt, top, first, complete=complete, sort=sort))
        if complete:
            return
        with app.db.read() as conn:
            every = ids(conn, None)
        if not worker.is_cancelled:
            self.post_message(self.IdsLoaded(flt, every, [], complete=True, sort=sort))

    class IdsLoaded(Message):
        def __init__(
            self,
            flt: q.ItemFilter,
            ids: list[int],
            first: list[q.ItemRecord],
            *,
            complete: bool,
            sort: str,
        ) -> None:
            super().__init__()
            self.flt, self.ids, self.first = flt, tuple(ids), tuple(first)
            self.complete, self.sort = complete, sort

    class RowsLoaded(Message):
        def __init__(self, records: list[q.ItemRecord]) -> None:
            super().__init__()
            self.records = tuple(records)

    class ChoicesLoaded(Message):
        def __init__(self, choices: dict[str, Any]) -> None:
            super().__init__()
            self.choices = choices

    def on_item_list_screen_ids_loaded(self, message: IdsLoaded) -> None:
        flt, ids, first = message.flt, list(message.ids), message.first
        if flt != self.flt or message.sort != self.sort or not self.is_attached:
            return
        table = self.query_one(ItemTable)
        table.add_records(first)
        table.set_ids(ids)
        if self.focus_key and not self._focused_once:
            for rec in first:
                if rec.key == self.focus_key and rec.id in ids:
                    table.move_cursor(ids.index(rec.id))
                    self._focused_once = True
                    break
            if message.complete:
                self._focused_once = True
        self._ids_loaded = True
        self._show_filter(len(ids) if message.complete else None)
        self._show_focus_title()

    @on(ItemTable.NeedRows)
    def _need_rows(self, event: ItemTable.NeedRows) -> None:
        self._fetch_rows(event.ids)

    @work(thread=True, group="list-rows", exit_on_error=False)
    def _fetch_rows(self, ids: list[int]) -> None:
        app: Any = self.app
        with app.db.read() as conn:
            records = q.items_by_ids(conn, ids)
        self.post_message(self.RowsLoaded(records))

    def on_item_list_screen_rows_loaded(self, message: RowsLoaded) -> None:
        if self.is_attached:
            self.query_one(ItemTable).add_records(message.records)
            self._show_focus_title()

    @on(GridView.Highlighted)
    def _show_focus_title(self) -> None:
        """The focused row's whole title on one line under the list."""
        if not self.query("#focus-title"):
            return
        rec = self.query_one(ItemTable).cursor_record
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        if rec is not None:
            from ...sync.presence import describe

            app: Any = self.app
            others = app.viewers.get(rec.key, ())
            text.append(clean(rec.key), style="bold")
            if others:
                text.append("  \u25cf ", style="bold")
                text.append(clean(describe(others)), style="bold")
                text.append(" ·")
            text.append("  ")
            text.append(clean(rec.title))
        self.query_one("#focus-title", Static).update(text)

    def data_changed(self, change: DataChange) -> None:
        if not self.query(ItemTable):
            return
        table = self.query_one(ItemTable)
        if change.everything:
            table.forget(list(table.records))
            self.load_ids()
            return
        if change.item_ids:
            table.forget(list(change.item_ids))
        filtered = self.flt != q.ItemFilter()
        if change.created or (change.item_ids and filtered) or change.people or change.queues:
            self.load_ids()

    def reload(self) -> None:
        self.data_changed(DataChange(everything=True))

    def tick(self) -> None:
        if not self.query(ItemTable):
            return
        self.query_one(StatusBar).tick()
        self.query_one(ItemTable).tick()

    # --- interaction -----------------------------------------------------------------------

    @on(GridView.Selected)
    def _open(self, event: GridView.Selected) -> None:
        rec = self.query_one(ItemTable).cursor_record
        if rec is not None:
            app: Any = self.app
            app.open_item(rec.key)

    def current_item_key(self) -> str | None:
        rec = self.query_one(ItemTable).cursor_record
        return rec.key if rec else None

    def presence_changed(self, viewers: dict[str, Any]) -> None:
        """Others with items open: shown for the focused row under the list."""
        self._show_focus_title()

    # --- marks and bulk actions ---------------------------------------------------------

    def action_mark(self) -> None:
        """Mark or unmark the row under the cursor, then go to the next row."""
        table = self.query_one(ItemTable)
        table.toggle_mark()
        table.move_cursor(table.cursor + 1)
        self._show_marks()

    def action_mark_move(self, step: int) -> None:
        table = self.query_one(ItemTable)
        table.toggle_mark(on=True)
        table.move_cursor(table.cursor + step)
        table.toggle_mark(on=True)
        self._show_marks()

    def action_mark_all(self) -> None:
        self.query_one(ItemTable).mark_all()
        self._show_marks()

    def _show_marks(self) -> None:
        n = len(self.query_one(ItemTable).marked)
        self.sub_title = f"{n} marked" if n else ""
        self._show_filter()

    def action_item(self, kind: str) -> None:
        """With rows marked, assign / move / transfer / comment act on all of them."""
        from .bulk import BULK_KINDS, start_bulk

        table = self.query_one(ItemTable)
        if table.marked and kind in BULK_KINDS:
            start_bulk(self.app, kind, table.marked_ids, done=self._bulk_done)
            return
        super().action_item(kind)

    def _bulk_done(self) -> None:
        if self.query(ItemTable):
            self.query_one(ItemTable).clear_marks()
            self._show_marks()

    def current_queue(self) -> str | None:
        return self.flt.queue

    def set_filter(self, flt: q.ItemFilter) -> None:
        self.flt = flt
        self.focus_key = None
        self._count = None
        self._show_filter()
        table = self.query_one(ItemTable)
        table.set_ids([], keep_cursor=False, loading=True)
        self.load_ids()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        self.set_focus(search)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        """Filter as you type, after a short pause (never a query per keystroke)."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(0.25, self._apply_search)

    def _apply_search(self) -> None:
        self._search_timer = None
        text = self.query_one("#search", Input).value.strip() or None
        if text != self.flt.text:
            self.set_filter(replace(self.flt, text=text))

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply_search()
        self.set_focus(self.query_one(ItemTable))

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            search.display = bool(self.flt.text)
            self.set_focus(self.query_one(ItemTable))
            return
        self.app.pop_screen()

    def action_cycle_sort(self) -> None:
        """urgency -> priority -> age -> updated -> urgency."""
        self.sort = ordering.SORTS[(ordering.SORTS.index(self.sort) + 1) % len(ordering.SORTS)]
        self._count = None
        self._show_filter()
        self.query_one(ItemTable).set_ids([], keep_cursor=False, loading=True)
        self.load_ids()

    def action_toggle_open(self) -> None:
        self.set_filter(replace(self.flt, open_only=not self.flt.open_only))

    def action_filters(self) -> None:
        self._load_choices()

    @work(thread=True, exclusive=True, group="list-choices", exit_on_error=False)
    def _load_choices(self) -> None:
        app: Any = self.app
        with app.db.read() as conn:
            choices = pane_q.filter_choices(conn)
        self.post_message(self.ChoicesLoaded(choices))

    def on_item_list_screen_choices_loaded(self, message: ChoicesLoaded) -> None:
        from .forms import FilterForm

        choices = message.choices

        def done(flt: q.ItemFilter | None) -> None:
            if flt is not None:
                self.set_filter(flt)

        self.app.push_screen(FilterForm(self.flt, choices), done)
