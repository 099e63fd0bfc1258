"""Shared behaviour of screens that show items: the action keys and worker errors."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.worker import Worker, WorkerState


class WorkerErrors:
    """Route every failed worker of a screen to the app's one error handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            app: Any = self.app  # type: ignore[attr-defined]
            app.report_worker_error(event.worker)


#: The item actions every screen showing an item offers (list, detail), in footer order.
ITEM_BINDINGS = [
    Binding("a", "item('assign')", "Assign"),
    Binding("m", "item('move')", "Move"),
    # Shift+t: t logs time.  Kept out of the footer (it would push Quit and Help off an
    # 80-column one); listed in help and the palette.
    Binding("T", "item('transfer')", "Transfer", show=False),
    Binding("c", "item('comment')", "Comment"),
    Binding("p", "item('priority')", "Prio/est"),
    Binding("e", "item('edit')", "Edit"),
    Binding("t", "item('log')", "Log time"),
]


class ItemActions(WorkerErrors):
    """``action_item(kind)`` runs an item action on :meth:`current_item_key`."""

    def current_item_key(self) -> str | None:
        return None

    def current_queue(self) -> str | None:
        return None

    def action_item(self, kind: str) -> None:
        app: Any = self.app  # type: ignore[attr-defined]
        if kind == "new":
            app.item_action("new", None, context={"queue": self.current_queue()})
            return
        app.item_action(kind, self.current_item_key())
