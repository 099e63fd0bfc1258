"""Tab 6: load per person and the rebalancing suggestions (space selects, Enter accepts)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from ....domain.capacity import Move
from ....services.review import WeeklyReview, bar
from ....services.review.agenda import busiest_text
from .parts import Palette, ReviewTable, lit
from .tabs import ReviewTab


class LoadTab(ReviewTab):
    """6: load per person and the rebalancing suggestions (space selects, Enter accepts)."""

    @dataclass
    class MovesChosen(Message):
        """The user accepted these suggestions (the selected ones, or the current one)."""

        moves: list[Move]

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.selected: set[str] = set()
        self._moves: tuple[Move, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("", classes="section", id="h-load")
        yield ReviewTable(
            "Person", "Open", "Load", "Avail", "Load%", "Chart", "Flag", id="t-load", classes="grow"
        )
        yield Static(
            "Suggestions: space selects, Enter reassigns the selected (or the current) item",
            classes="section",
        )
        yield ReviewTable(
            "Sel", "Item", "Hours", "From", "To", "Title", "Why", id="t-moves", classes="grow"
        )

    def first_table(self) -> DataTable[object] | None:
        return self._table("t-moves")

    def current_item(self) -> str | None:
        """The item of the suggestion under the cursor (rebalancing or drifting work): the
        screen's a / m / T / c act on it."""
        return self._table("t-moves").current_key()

    def show(self, rv: WeeklyReview) -> None:
        cap = rv.capacity
        pal = Palette.of(self.app)
        # rebalancing first, then the moves that bring drifting work back on time
        rebalancing = {m.key for m in cap.moves}
        self._moves = (*cap.moves, *(m for m in rv.rescues if m.key not in rebalancing))
        self.selected &= {m.key for m in self._moves}
        top = max([1.0, *(p.utilisation or 0 for p in cap.people)])
        self._section(
            "h-load",
            Text.assemble(
                f"Load % of available hours, {cap.window_start:%a %d %b} to "
                f"{cap.window_end:%a %d %b}: ",
                (busiest_text(rv), pal.over if cap.busiest_warning else ""),
            ),
        )
        self._table("t-load").fill(
            [
                (
                    p.handle,
                    (
                        lit(p.handle),
                        Text(str(p.open_items)),
                        Text(f"{p.load_hours:g}h"),
                        Text(f"{p.available_hours:g}h"),
                        Text(
                            f"{p.utilisation:.0%}" if p.utilisation is not None else "-",
                            style=pal.over if p.overloaded else "",
                        ),
                        Text(
                            bar(p.utilisation or 0, top, 12),
                            style=pal.over if p.overloaded else pal.load,
                        ),
                        Text(
                            "OVERLOADED"
                            if p.overloaded
                            else (
                                "inactive"
                                if not p.active
                                else (f"away {p.away_days}d" if p.away_days else "")
                            ),
                            style=pal.over if p.overloaded else "dim",
                        ),
                    ),
                )
                for p in cap.people
            ]
        )
        self._show_moves()

    def _show_moves(self) -> None:
        pal = Palette.of(self.app)
        self._table("t-moves").fill(
            [
                (
                    m.key,
                    (
                        Text(
                            "[x]" if m.key in self.selected else "[ ]",
                            style=f"bold {pal.good}" if m.key in self.selected else "dim",
                        ),
                        lit(m.key),
                        Text(f"{m.hours:g}h"),
                        lit(m.from_handle),
                        lit(m.to_handle, style="bold"),
                        lit(m.title, 40),
                        lit(m.reason),
                    ),
                )
                for m in self._moves
            ]
        )

    def toggle(self) -> None:
        """Select or unselect the current suggestion, then go to the next one."""
        table = self._table("t-moves")
        key = table.current_key()
        if key is None:
            return
        self.selected ^= {key}
        self._show_moves()
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def accept(self) -> None:
        """Post the selected suggestions (or the current one) as :class:`MovesChosen`."""
        current = self._table("t-moves").current_key()
        keys = set(self.selected) or ({current} if current else set())
        moves = [m for m in self._moves if m.key in keys]
        self.selected.clear()
        self.post_message(self.MovesChosen(moves))

    @on(DataTable.RowSelected, "#t-moves")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.accept()
