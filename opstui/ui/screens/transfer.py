"""The transfer form: move an item (or several marked ones) to another queue (owners stay)."""

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
    """Pick the queue to move the item (or items) to; the result is its slug (None:
    cancelled).  For several items ``subject`` titles the form; a queue all of them are
    in already is left out."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("q", "cancel", "Cancel", show=False),
    ]

    def __init__(
        self,
        item: ItemRecord | Sequence[ItemRecord],
        queues: Sequence[QueueRecord],
        *,
        subject: Text | None = None,
    ) -> None:
        super().__init__()
        self.items = [item] if isinstance(item, ItemRecord) else list(item)
        self.item = self.items[0]
        self.subject = subject
        sources = {it.queue for it in self.items}
        self.queues = [qu for qu in queues if not sources <= {qu.slug}]
        flows = {qu.workflow for qu in queues if qu.slug in sources}
        self.workflow = next(iter(flows)) if len(flows) == 1 else None

    def compose(self) -> ComposeResult:
        with Vertical(classes="form picker"):
            if self.subject is not None:
                title = self.subject.copy()
                title.append(" to")
            else:
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
