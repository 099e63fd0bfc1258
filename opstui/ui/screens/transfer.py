"""The transfer form: move an item to another queue (its owner stays)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...store.queries import ItemRecord, QueueRecord
from ..text import literal


def queue_label(queue: QueueRecord, workflow: str | None) -> Text:
    label = Text(end="")
    label.append_text(literal(queue.slug, "bold"))
    label.append("  ")
    label.append_text(literal(queue.name))
    if workflow is not None and queue.workflow != workflow:
        label.append("  ")
        label.append_text(literal(f"workflow {queue.workflow}", "italic"))
    return label


class TransferForm(ModalScreen[str | None]):
    """Pick the queue to move the item to; the result is its slug (None: cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("q", "cancel", "Cancel", show=False),
    ]

    def __init__(self, item: ItemRecord, queues: Sequence[QueueRecord]) -> None:
        super().__init__()
        self.item = item
        self.queues = [qu for qu in queues if qu.slug != item.queue]
        self.workflow = next((qu.workflow for qu in queues if qu.slug == item.queue), None)

    def compose(self) -> ComposeResult:
        with Vertical(classes="form picker"):
            title = Text("Transfer  ", style="bold", end="")
            title.append_text(literal(f"{self.item.key} from {self.item.queue} to"))
            yield Static(title, classes="form-title")
            yield OptionList(
                *[Option(queue_label(qu, self.workflow), id=qu.slug) for qu in self.queues],
                id="queues",
            )
            yield Static(
                Text(
                    "Enter to transfer (owner stays; another workflow maps the state by "
                    "category), Esc to cancel",
                    style="dim",
                )
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
