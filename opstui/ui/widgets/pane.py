"""The dashboard panes' base: a titled GridView that says how many rows are off screen and
keeps a column's names apart when they share a prefix (:class:`Pane`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import events
from textual.content import Content
from textual.geometry import Region

from ..text import clean, short_names
from .grid import Column, GridView, Row


class Pane(GridView):
    """A titled dashboard pane.  A pane that holds a team (``COUNT_HIDDEN``) says how
    many of its rows are off screen: under it, or in its title when it has no bottom
    border (compact mode)."""

    DEFAULT_CSS = """
    Pane {
        height: 1fr;
    }
    """
    COUNT_HIDDEN = False

    def __init__(self, title: str, columns: Sequence[Column], *, id: str, empty_text: str) -> None:
        super().__init__(columns, id=id, classes="pane", empty_text=empty_text)
        self.border_title = title
        self._title = title
        #: What the pane says about rows off screen, and where (``title``/``subtitle``).
        self._more: tuple[str, str] = ("", "subtitle")
        #: (layout, names, shortened names) for the name column (``short_names``).
        self._short: tuple[object, tuple[str, ...], dict[str, str]] | None = None
        self._names_from: tuple[str, ...] = ()
        self._names: tuple[str, ...] = ()

    # --- rows off screen ---------------------------------------------------------------

    def hidden_rows(self) -> tuple[int, int]:
        """Rows (above, below) the visible part of the pane."""
        n = self.row_count()
        rows = max(0, self.scrollable_content_region.height - self._header_lines)
        top = min(max(0, round(self.scroll_y)), n)
        return top, max(0, n - top - rows)

    def more_text(self) -> str:
        above, below = self.hidden_rows()
        if above and below:
            return f"↑{above} ↓{below} more"
        if below:
            return f"↓ {below} more"
        if above:
            return f"↑ {above} more"
        return ""

    def update_more(self) -> None:
        """Say how many rows are off screen (only when that changed)."""
        if not self.COUNT_HIDDEN or not self.is_mounted or not self.size.height:
            return
        text = self.more_text()
        place = "subtitle" if self.styles.border_bottom[0] not in ("", "none") else "title"
        if (text, place) == self._more:
            return
        old_text, old_place = self._more
        self._more = (text, place)
        if place == "title":
            self.border_title = f"{self._title} · {text}" if text else self._title
            if old_place == "subtitle" and old_text:
                self.border_subtitle = ""
        else:
            if old_place == "title":
                self.border_title = self._title
            self._set_subtitle(text)

    def set_rows(self, rows: Sequence[Row]) -> None:
        super().set_rows(rows)
        self.update_more()

    def on_resize(self, event: events.Resize) -> None:
        # GridView's own on_resize runs after this one (Textual calls each class's)
        self.update_more()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.update_more()

    def _set_subtitle(self, text: str) -> None:
        """The line under the pane, as literal text.  Setting ``border_subtitle``
        redraws the whole pane; only the bottom border line changes, so that line alone
        is redrawn once the pane has been drawn."""
        if not self.is_mounted or not self.outer_size.height:
            self.border_subtitle = Text(text)
            return
        self._border_subtitle = Content.from_rich_text(Text(text)).expand_tabs(4).split()[0]
        gutter = self.gutter
        bottom = self.outer_size.height - 1 - gutter.top
        self.refresh(Region(-gutter.left, bottom, self.outer_size.width, 1))

    # --- names that share a prefix -----------------------------------------------------

    def names_of(self, raw: Iterable[str]) -> tuple[str, ...]:
        """The column's names, cleaned and sorted: the same tuple as last time when the
        raw names come in the same order (a change rarely adds a person or a queue)."""
        raw = tuple(raw)
        if raw != self._names_from:
            self._names_from = raw
            self._names = tuple(sorted(clean(n) for n in raw))
        return self._names

    def short_name(self, name: str, column: str, names: tuple[str, ...]) -> str:
        """``name`` as it fits column ``column`` now, kept apart from ``names`` (the
        column's other names) by :func:`short_names`; computed once per width and names."""
        laid = self.current_layout()
        cached = self._short
        if cached is None or cached[0] is not laid or cached[1] != names:
            width = self.column_widths().get(column, 0)
            cached = self._short = (laid, names, short_names(names, width))
        return cached[2].get(name, name)
