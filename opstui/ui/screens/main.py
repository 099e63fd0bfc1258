"""The main dashboard: Queues, SLA, Owners and Capacity panes."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer

from ...store.panes import SlaRow
from ...store.queries import ItemFilter
from ..messages import PaneData
from ..widgets.grid import GridView
from ..widgets.panes import CapacityPane, OwnersPane, QueuesPane, SlaPane
from ..widgets.status import StatusBar


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev pane", show=False),
        Binding("1", "focus_pane('queues')", "Queues", show=False),
        Binding("2", "focus_pane('sla')", "SLA", show=False),
        Binding("3", "focus_pane('owners')", "Owners", show=False),
        Binding("4", "focus_pane('capacity')", "Capacity", show=False),
        Binding("l", "items", "Items"),
        Binding("slash", "search", "Search"),
        Binding("n", "new", "New"),
        Binding("p", "processes", "Processes"),
        Binding("w", "review", "Review"),
        Binding("a", "item('assign')", "Assign", show=False),
        Binding("m", "item('move')", "Move", show=False),
        Binding("c", "item('comment')", "Comment", show=False),
        Binding("z", "app.toggle_compact", "Compact", show=False),
    ]

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield StatusBar()
        with Container(id="panes"):
            yield QueuesPane()
            yield SlaPane(app.clock.now)
            yield OwnersPane()
            yield CapacityPane()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app: Any = self.app
        self.set_class(app.compact, "-compact")
        self.query_one(QueuesPane).focus()
        if app.pane_data is not None:
            self.show(app.pane_data, app.pane_data)

    def on_screen_resume(self) -> None:
        app: Any = self.app
        app.update_compact()
        app.resume_panes()

    # --- data ----------------------------------------------------------------------------

    def show(self, data: PaneData, changed: PaneData) -> None:
        """Render panes whose data was reloaded (``changed`` holds None for the others)."""
        if not self.query(QueuesPane):
            return  # not composed yet: on_mount shows app.pane_data when it is
        now = data.loaded_at
        with self.app.batch_update():
            if changed.queues is not None:
                self.query_one(QueuesPane).show(data.queues or (), now)
            if changed.owners is not None:
                self.query_one(OwnersPane).show(data.owners or ())
                self.query_one(CapacityPane).show(data.owners or ())
            if changed.sla is not None:
                self.query_one(SlaPane).show(data.sla or ())
            self.query_one(StatusBar).data_changed()

    def tick(self) -> list[SlaRow]:
        self.query_one(StatusBar).tick()
        return self.query_one(SlaPane).tick()

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
            row = grid.row_for(key)
            state = grid.state_of(row) if row else None
            app.open_items(ItemFilter(sla_state=state or "due"), focus_key=str(key))

    def action_focus_pane(self, pane_id: str) -> None:
        pane = self.query_one(f"#{pane_id}", GridView)
        if pane.display:
            pane.focus()

    def action_items(self) -> None:
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

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        cmds: list[tuple[str, str, Any]] = [
            (
                "Focus: Queues pane",
                "per queue counts (1)",
                lambda: self.action_focus_pane("queues"),
            ),
            (
                "Focus: SLA pane",
                "nearest SLA countdowns (2)",
                lambda: self.action_focus_pane("sla"),
            ),
            (
                "Focus: Owners pane",
                "open work per person (3)",
                lambda: self.action_focus_pane("owners"),
            ),
            (
                "Focus: Capacity pane",
                "load vs weekly capacity (4)",
                lambda: self.action_focus_pane("capacity"),
            ),
            (
                "Items: for the selected row",
                "the item list filtered by the focused pane (l)",
                self.action_items,
            ),
        ]
        if self.current_item_key():
            key = self.current_item_key()
            cmds += [
                (f"Assign {key}…", "give it to someone (a)", lambda: self.action_item("assign")),
                (f"Move {key}…", "next workflow state (m)", lambda: self.action_item("move")),
                (f"Comment on {key}…", "add a comment (c)", lambda: self.action_item("comment")),
            ]
        return cmds
