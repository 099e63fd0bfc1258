"""The help screen: the keys of the screen underneath and what the panes mean."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

ABOUT = (
    (
        "Queues",
        "open, new, unowned, breaching and warning items per queue; oldest open item; "
        "work in progress against the queue's limit (! = over the limit).",
    ),
    (
        "SLA",
        "open items by time left on their nearest SLA target (resp = first response, "
        "res = resolution, due = due date); counts down to the second under a minute, to the "
        "minute otherwise: ok, warn, BREACH, paused.",
    ),
    (
        "Owners",
        "per person: open items, breached items, hours of open estimate, load "
        "(% of this week's available hours: capacity less time away); "
        "the unowned row is always there; away people are marked.",
    ),
    (
        "Capacity",
        "open estimate vs this week's available hours per person (OVER = overloaded); "
        "the bottom line says how much of the team's open work its busiest person holds.",
    ),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close"),
        Binding("j,down", "scroll('down')", show=False),
        Binding("k,up", "scroll('up')", show=False),
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form help"):
            yield Static(self._content())

    def _content(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text("Keys", style="bold underline"), "")
        from ..bindings import screen_bindings

        for keys, desc, _action, _ns in screen_bindings(self.under):
            table.add_row(Text(keys), Text(desc))
        for keys, desc in (
            ("j k, arrows", "move the cursor; pgup/pgdn, g/G for first/last"),
            ("tab / shift+tab", "next / previous pane or field"),
            ("ctrl+p", "command palette: every action of this screen by name"),
        ):
            table.add_row(Text(keys), Text(desc))
        table.add_row("", "")
        table.add_row(Text("Panes", style="bold underline"), "")
        for name, text in ABOUT:
            table.add_row(Text(name), Text(text))
        table.add_row("", "")
        table.add_row(Text(""), Text("Esc closes this help.", style="dim"))
        return table

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        scroller = self.query_one(VerticalScroll)
        scroller.scroll_down() if direction == "down" else scroller.scroll_up()
