"""The main dashboard: Queues, SLA, Owners and Capacity panes."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen

from ...store.panes import SlaRow
from ...store.queries import ItemFilter
from ..messages import PaneData
from ..widgets.grid import GridView
from ..widgets.keybar import KeyBar
from ..widgets.panes import CapacityPane, OwnersPane, QueuesPane, SlaPane
from ..widgets.status import StatusBar


class PanesGrid(Container):
    """The panes' grid: it has no border and no content of its own, so Textual draws
    it as blank lines instead of through its styles cache on every frame (every applied
    change redraws a few pane lines; the grid under them was walked line by line)."""

    BLANK = True


class MainScreen(Screen[None]):
    #: Covered by its bars and the panes' grid: drawn blank, not line by line (PanesGrid).
    BLANK = True
    BINDINGS = [
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev pane", show=False),
        Binding("1", "focus_pane('queues')", "Focus the Queues pane", show=False),
        Binding("2", "focus_pane('sla')", "Focus the SLA pane", show=False),
        Binding("3", "focus_pane('owners')", "Focus the Owners pane", show=False),
        Binding("4", "focus_pane('capacity')", "Focus the Capacity pane", show=False),
        Binding("l", "items", "Items"),
        Binding("v", "app.views", "Views"),
        Binding("M", "app.my_work", "Mine"),
        Binding("slash", "search", "Search"),
        Binding("n", "new", "New"),
        Binding("p", "processes", "Processes"),
        Binding("w", "review", "Review"),
        Binding("a", "item('assign')", "Assign the SLA row's item", show=False),
        Binding("m", "item('move')", "Move the SLA row's item", show=False),
        Binding("c", "item('comment')", "Comment on the SLA row's item", show=False),
        Binding("z", "app.toggle_compact", "Compact layout on/off", show=False),
        Binding("o", "sla_order", "Order the SLA pane: time left / drifting first", show=False),
    ]

    def compose(self) -> ComposeResult:
        app: Any = self.app
        # kept: every applied change shows data in them and the app asks the SLA pane
        # every tick whether seconds matter (no DOM query on either path)
        self.status_bar = StatusBar()
        self.queues_pane = QueuesPane()
        self.sla_pane = SlaPane(app.clock.now)
        self.owners_pane = OwnersPane()
        self.capacity_pane = CapacityPane()
        yield self.status_bar
        with PanesGrid(id="panes"):
            yield self.queues_pane
            yield self.sla_pane
            yield self.owners_pane
            yield self.capacity_pane
        yield KeyBar()

    def on_mount(self) -> None:
        app: Any = self.app
        self.set_class(app.compact, "-compact")
        self.set_focus(self.query_one(QueuesPane))
        if app.pane_data is not None:
            self.show(app.pane_data, app.pane_data)

    def on_screen_resume(self) -> None:
        app: Any = self.app
        app.update_compact()
        app.resume_panes()

    # --- data ----------------------------------------------------------------------------

    def show(self, data: PaneData, changed: PaneData) -> None:
        """Render panes whose data was reloaded (``changed`` holds None for the others)."""
        pane = getattr(self, "queues_pane", None)
        if pane is None or pane.parent is None:
            return  # not composed yet: on_mount shows app.pane_data when it is
        now = data.loaded_at
        with self.app.batch_update():
            if changed.queues is not None:
                self.queues_pane.show(data.queues or (), now)
            if changed.owners is not None:
                self.owners_pane.show(data.owners or ())
                self.capacity_pane.show(data.owners or ())
            if changed.sla is not None:
                self.sla_pane.show(data.sla or ())
            self.status_bar.data_changed()

    def tick(self) -> list[SlaRow]:
        self.status_bar.tick()
        return self.sla_pane.tick()

    # --- selection -------------------------------------------------------------------------

    @on(GridView.Selected)
    def _selected(self, event: GridView.Selected) -> None:
        app: Any = self.app
        grid, key = event.grid, event.key
        if key is None:
            return
        if isinstance(grid, QueuesPane):
            app.open_items(ItemFilter(queue=str(key), open_only=True))
        elif isinstance(grid, (OwnersPane, CapacityPane)):
            app.open_items(ItemFilter(owner=str(key), open_only=True))
        elif isinstance(grid, SlaPane):
            app.open_item(str(key))  # the item itself; `l` opens the list of its state

    def action_focus_pane(self, pane_id: str) -> None:
        """Focus at once (not after a refresh), so a key typed right after the pane's
        number (``3`` then Enter, as tmux send-keys or a fast typist sends them) acts
        on the new pane."""
        pane = self.query_one(f"#{pane_id}", GridView)
        if pane.display:
            self.set_focus(pane)

    def action_items(self) -> None:
        focused = self.focused
        if isinstance(focused, SlaPane) and focused.cursor_key is not None:
            row = focused.row_for(focused.cursor_key)
            state = focused.state_of(row) if row else None
            self.app_open(ItemFilter(sla_state=state or "due"), focus_key=str(focused.cursor_key))
            return
        self.app_open(self._filter_for_focus())

    def app_open(self, flt: ItemFilter, **kw: Any) -> None:
        app: Any = self.app
        app.open_items(flt, **kw)

    def action_search(self) -> None:
        self.app_open(ItemFilter(open_only=True), search=True)

    def _filter_for_focus(self) -> ItemFilter:
        focused = self.focused
        if isinstance(focused, QueuesPane) and focused.cursor_key:
            return ItemFilter(queue=str(focused.cursor_key), open_only=True)
        if isinstance(focused, (OwnersPane, CapacityPane)) and focused.cursor_key:
            return ItemFilter(owner=str(focused.cursor_key), open_only=True)
        return ItemFilter(open_only=True)

    def current_item_key(self) -> str | None:
        pane = self.query_one(SlaPane)
        if self.focused is pane and pane.cursor_key:
            return str(pane.cursor_key)
        return None

    def action_item(self, kind: str) -> None:
        app: Any = self.app
        key = self.current_item_key()
        if key is None:
            app.notify(
                "pick an item in the SLA pane or open the item list (l) first",
                severity="warning",
                timeout=3,
            )
            return
        app.item_action(kind, key)

    def action_sla_order(self) -> None:
        """Cycle the SLA pane's order (its title says which one is on)."""
        self.query_one(SlaPane).cycle_order()

    def action_processes(self) -> None:
        app: Any = self.app
        app.open_processes()

    def action_review(self) -> None:
        app: Any = self.app
        app.open_review()

    def action_new(self) -> None:
        app: Any = self.app
        focused = self.focused
        queue = (
            str(focused.cursor_key)
            if isinstance(focused, QueuesPane) and focused.cursor_key
            else None
        )
        app.item_action("new", None, context={"queue": queue})
