"""Small pieces the review's tabs share: literal DB text, the palette, the keyed table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App
from textual.color import Color, ColorParseError
from textual.widgets import DataTable

from ....domain.text import one_line


def lit(value: Any, width: int | None = None, style: str = "") -> Text:
    """DB text, shown literally (no markup, no control bytes)."""
    return Text(one_line("" if value is None else str(value), width), style=style)


def ts(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%d %b %H:%M")


@dataclass(frozen=True)
class Palette:
    """Rich styles for table cells, from the current theme's app variables (every theme
    defines them: :data:`opstui.ui.themes.APP_VARIABLES`)."""

    bad: str  # "bold <sla-breached>"
    warn: str  # <sla-warning>
    good: str  # <sla-ok>
    info: str  # <accent>
    over: str  # "bold <load-over>"
    load: str  # <load-ok>
    unowned: str  # <flag-unowned>

    @classmethod
    def of(cls, app: App[Any]) -> Palette:
        variables = app.theme_variables

        def colour(name: str) -> str:
            try:
                return Color.parse(variables[name]).hex6
            except (KeyError, ColorParseError):
                return "default"

        return cls(
            bad=f"bold {colour('sla-breached')}",
            warn=colour("sla-warning"),
            good=colour("sla-ok"),
            info=colour("accent"),
            over=f"bold {colour('load-over')}",
            load=colour("load-ok"),
            unowned=colour("flag-unowned"),
        )


Row = tuple[str, Sequence[Any]]


def _same(a: Any, b: Any) -> bool:
    """Same text and same look (``Text ==`` ignores the base style, which themes change)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans
    return bool(a == b)


#: Shown before the first cell of a row marked for a bulk action (as the item list's mark).
MARK = "\u25cf "


class ReviewTable(DataTable[Any]):
    """A row-cursor table whose rows are keyed by what they show (item key, handle...).

    :meth:`fill` updates in place when the keys are the same (only changed cells), and
    rebuilds keeping the cursor on the same key when they are not.  It also repaints once
    its column widths are measured: Textual measures new rows on idle but keys its row
    render cache without the column widths, so rows painted before that idle keep their
    old (label-wide) columns.

    In an item table (``items=True``, the first column is the item's key) rows can be
    marked for a bulk action like the item list's (:meth:`toggle_mark`, :meth:`mark_all`);
    marks survive a reload while their row is still there.
    """

    def __init__(self, *columns: str, id: str, classes: str = "", items: bool = False) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row")
        self._columns = columns
        self.items = items
        #: Row keys marked for a bulk action.
        self.marked: set[str] = set()
        #: Each row's first cell as given (before its mark).
        self._first: dict[str, Any] = {}

    def on_mount(self) -> None:
        for name in self._columns:
            self.add_column(name, key=name)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        except Exception:
            return None

    # --- items and marks ---------------------------------------------------------------

    def item_key(self, row_key: str | None) -> str | None:
        """The item a row is about (its first cell), None for a table of other things."""
        if not self.items or row_key is None or row_key not in self._first:
            return None
        cell = self._first[row_key]
        return getattr(cell, "plain", str(cell)) or None

    def current_item(self) -> str | None:
        return self.item_key(self.current_key())

    def marked_items(self) -> list[str]:
        """Keys of the items on marked rows, in row order, each once."""
        out: list[str] = []
        for row in self.rows:
            item = self.item_key(row.value) if row.value in self.marked else None
            if item and item not in out:
                out.append(item)
        return out

    def toggle_mark(self, *, on: bool | None = None) -> None:
        key = self.current_key()
        if not self.items or key is None:
            return
        if on is None:
            on = key not in self.marked
        before = key in self.marked
        if on:
            self.marked.add(key)
        else:
            self.marked.discard(key)
        if before != on:
            self._show_mark(key)

    def mark_all(self) -> None:
        """Mark every row; if all are marked already, clear the marks."""
        keys = {str(row.value) for row in self.rows}
        if not self.items or not keys:
            return
        changed = keys if self.marked >= keys else keys - self.marked
        self.marked = set() if self.marked >= keys else keys
        for key in changed:
            self._show_mark(key)

    def clear_marks(self) -> None:
        changed, self.marked = self.marked, set()
        for key in changed:
            self._show_mark(key)

    def _marked_cell(self, key: str, cell: Any) -> Any:
        if key not in self.marked:
            return cell
        text = Text(MARK, style="bold", end="")
        text.append_text(cell if isinstance(cell, Text) else Text(str(cell)))
        return text

    def _show_mark(self, key: str) -> None:
        if key in self._first:
            self.update_cell(
                key, self._columns[0], self._marked_cell(key, self._first[key]), update_width=True
            )

    # --- rows ----------------------------------------------------------------------------

    def fill(self, rows: Sequence[Row]) -> None:
        if self.items:
            self._first = {k: cells[0] for k, cells in rows}
            self.marked &= set(self._first)
            rows = [(k, (self._marked_cell(k, cells[0]), *cells[1:])) for k, cells in rows]
        keys = [k for k, _ in rows]
        if keys == [k.value for k in self.rows]:
            for key, cells in rows:
                for name, cell in zip(self._columns, cells, strict=True):
                    if not _same(self.get_cell(key, name), cell):
                        self.update_cell(key, name, cell)
            return
        current = self.current_key()
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if current in keys:
            self.move_cursor(row=keys.index(current))

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()
            self.refresh()
