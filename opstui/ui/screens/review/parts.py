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


class ReviewTable(DataTable[Any]):
    """A row-cursor table whose rows are keyed by what they show (item key, handle...).

    :meth:`fill` updates in place when the keys are the same (only changed cells), and
    rebuilds keeping the cursor on the same key when they are not.  It also repaints once
    its column widths are measured: Textual measures new rows on idle but keys its row
    render cache without the column widths, so rows painted before that idle keep their
    old (label-wide) columns.
    """

    def __init__(self, *columns: str, id: str, classes: str = "") -> None:
        super().__init__(id=id, classes=classes, cursor_type="row")
        self._columns = columns

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

    def fill(self, rows: Sequence[Row]) -> None:
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
