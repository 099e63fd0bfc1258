"""GridView: a table on Textual's Line API that renders only the visible rows.

A ``DataTable`` costs about 0.15 ms per row before its first paint; this widget asks for
the cells of the rows on screen only, so 100k rows paint as fast as 100.  Columns have a
priority: when the widget is narrow the least important columns are dropped and one
``flex`` column absorbs the rest.  Cell colours come from component classes whose TCSS
uses theme variables only.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    align: str = "left"
    #: Absorbs spare width (one column per grid).
    flex: bool = False
    #: 0 = always shown; higher numbers are dropped first when narrow.
    priority: int = 0


@dataclass(frozen=True)
class Runs:
    """A cell of several runs of literal text, each with its own style (a load bar):
    drawn as one segment per run, like a ``Text`` with a span per run would be."""

    parts: tuple[tuple[str, Style], ...]

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.parts)


#: A cell: plain text (shown literally) with an optional component-class style name,
#: runs of text with their own styles, or a ready ``Text`` (already literal) for other
#: multi-colour cells.
Cell = tuple[str, str | None] | Runs | Text


@dataclass(frozen=True)
class Row:
    key: Hashable
    cells: tuple[Cell, ...]
    #: What the row shows when its cells are computed at render time (``row_cells``
    #: overridden): a row whose key, cells and ``source`` are unchanged is not redrawn.
    source: Hashable = None


_PLAIN = Style()

STYLE_CLASSES = {
    "grid--header",
    "grid--cursor",
    "grid--cursor-blurred",
    "grid--dim",
    "grid--bold",
    "grid--sla-ok",
    "grid--sla-warning",
    "grid--sla-breached",
    "grid--sla-paused",
    "grid--sla-met",
    "grid--sla-drift",
    "grid--load-ok",
    "grid--load-high",
    "grid--load-over",
    "grid--flag-unowned",
    "grid--flag-away",
    "grid--empty",
}


class GridView(ScrollView, can_focus=True):
    """Rows of cells with a cursor; override ``row_count``/``row_key``/``row_cells``
    for a virtual source, or call :meth:`set_rows` with a small list."""

    COMPONENT_CLASSES = STYLE_CLASSES
    #: Collapse columns that are blank in every row (a grid whose rows say when they
    #: change, through set_rows or columns_changed, opts in).
    COLLAPSE_EMPTY = False

    BINDINGS = [
        Binding("enter", "select", "Open", show=True),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    DEFAULT_CSS = """
    GridView {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        height: 1fr;
    }
    """

    class Highlighted(Message):
        def __init__(self, grid: GridView, index: int, key: Hashable | None) -> None:
            super().__init__()
            self.grid = grid
            self.index = index
            self.key = key

        @property
        def control(self) -> GridView:
            return self.grid

    class Selected(Message):
        def __init__(self, grid: GridView, index: int, key: Hashable | None) -> None:
            super().__init__()
            self.grid = grid
            self.index = index
            self.key = key

        @property
        def control(self) -> GridView:
            return self.grid

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str = "nothing here",
        show_header: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns = tuple(columns)
        self._rows: tuple[Row, ...] = ()
        self.cursor = 0
        self.empty_text = empty_text
        self.show_header = show_header
        self._grid_layout: tuple[int, list[tuple[Column, int]]] | None = None
        #: Positions of columns empty in every row (collapsed); None = not computed yet.
        self._empty: frozenset[int] | None = None
        #: Component styles by name (Textual drops its own cache on every refresh; these
        #: change only when the stylesheet or theme does).
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None
        #: A plain cell's full style by (component name, on the cursor, focused).
        self._cell_styles: dict[tuple[str | None, bool, bool], Style] = {}
        self._column_positions: dict[Column, int] | None = None
        self._widths: tuple[list[tuple[Column, int]], dict[str, int]] | None = None

    # --- data --------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)
        self._column_positions = None
        self.columns_changed()

    def columns_changed(self) -> None:
        """Rows changed in a way that may empty or fill a column: lay out again."""
        self._empty = None
        self._grid_layout = None
        self.refresh()

    def empty_columns(self) -> set[int]:
        """Positions of the columns whose cells are blank in every row (they collapse).
        A virtual source overrides this with a cheaper test on its records."""
        empty = {n for n, c in enumerate(self._columns) if not c.flex}
        for row in self._rows:
            for pos in list(empty):
                cell = row.cells[pos] if pos < len(row.cells) else ("", None)
                text = cell.plain if isinstance(cell, (Text, Runs)) else cell[0]
                if text.strip():
                    empty.discard(pos)
            if not empty:
                break
        return empty

    def row_count(self) -> int:
        return len(self._rows)

    def row_key(self, index: int) -> Hashable | None:
        if 0 <= index < len(self._rows):
            return self._rows[index].key
        return None

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        """Cells of row ``index``; ``None`` while the row is still loading."""
        return self._rows[index].cells

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Replace the rows, keeping the cursor on the same key; redraw only the visible
        lines whose row changed (and the cursor's old and new line)."""
        rows = tuple(rows)
        old = self._rows
        if rows == old:
            return
        key = self.cursor_key
        old_cursor = self.cursor
        self._rows = rows
        if key is not None:
            for i, row in enumerate(rows):
                if row.key == key:
                    self.cursor = i
                    break
        self._clamp_cursor()
        if len(old) != len(rows):
            self._update_virtual_size()
        if self._empty is not None:
            # the layout stays (and with it what was computed for it) unless a column
            # collapsed or came back
            empty = self._collapsed()
            if empty != self._empty:
                self._empty = empty
                self._grid_layout = None
                self.refresh()  # every line moves
                return
        if not old or not rows:
            self.refresh()  # the empty text comes or goes
            return
        changed = {
            i
            for i in range(max(len(old), len(rows)))
            if (a := _at(old, i)) is not (b := _at(rows, i)) and a != b
        }
        if self.cursor != old_cursor:
            changed |= {old_cursor, self.cursor}
        self.refresh_rows(changed)

    def _collapsed(self) -> frozenset[int]:
        """The columns collapsed now (only grids that collapse blank columns do)."""
        if self.COLLAPSE_EMPTY and self.row_count():
            return frozenset(self.empty_columns())
        return frozenset()

    def refresh_rows(self, indexes: Iterable[int]) -> None:
        """Redraw these rows where they are on screen (nothing else)."""
        top = round(self.scroll_y)
        visible = max(0, self.scrollable_content_region.height - self._header_lines)
        shown = sorted(i for i in set(indexes) if top <= i < top + visible)
        start = prev = None
        for i in [*shown, None]:  # contiguous runs, one region each
            if i is not None and prev is not None and i == prev + 1:
                prev = i
                continue
            if start is not None and prev is not None:
                self.refresh_lines(start + self._header_lines, prev - start + 1)
            start = prev = i

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, self.row_count() + self._header_lines)
        if self.styles.height is not None and self.styles.height.is_auto:
            self.refresh(layout=True)

    @property
    def _header_lines(self) -> int:
        return 1 if self.show_header else 0

    @property
    def cursor_key(self) -> Hashable | None:
        return self.row_key(self.cursor) if self.row_count() else None

    def move_cursor_to_key(self, key: Hashable) -> bool:
        for i in range(self.row_count()):
            if self.row_key(i) == key:
                self.move_cursor(i)
                return True
        return False

    # --- cursor ------------------------------------------------------------------------

    def _clamp_cursor(self) -> None:
        n = self.row_count()
        self.cursor = max(0, min(self.cursor, n - 1)) if n else 0

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        n = self.row_count()
        if not n:
            return
        index = max(0, min(index, n - 1))
        changed = index != self.cursor
        self.cursor = index
        self.scroll_to_cursor()
        self.refresh()
        if changed and announce:
            self.post_message(self.Highlighted(self, index, self.row_key(index)))

    def scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - self._header_lines)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - self._header_lines - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count() - 1)

    def action_select(self) -> None:
        if self.row_count():
            self.post_message(self.Selected(self, self.cursor, self.row_key(self.cursor)))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        y = offset.y - self._header_lines
        if y < 0:
            return
        index = round(self.scroll_y) + y
        if index >= self.row_count():
            return
        event.stop()
        was = self.cursor
        self.focus()
        self.move_cursor(index)
        if was == index or event.chain >= 2:
            self.action_select()

    def on_focus(self) -> None:
        self._base = None
        self._cell_styles.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._base = None
        self._cell_styles.clear()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._grid_layout = None
        self._update_virtual_size()
        self.scroll_to_cursor()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, self.row_count() + self._header_lines)

    # --- rendering ---------------------------------------------------------------------

    def layout_for(self, width: int) -> list[tuple[Column, int]]:
        """Columns that fit ``width`` (least important dropped first, columns blank in
        every row collapsed) and their widths; the flex column takes what is left."""
        if self._grid_layout is not None and self._grid_layout[0] == width:
            return self._grid_layout[1]
        if self._empty is None:
            self._empty = self._collapsed()
        collapsed = {self._columns[n] for n in self._empty if n < len(self._columns)}

        def need(cols: list[Column]) -> int:
            return sum(c.width for c in cols) + max(0, len(cols) - 1)

        # Most important first; a column that does not fit is skipped, a smaller
        # less important one may still fit after it.
        chosen: list[Column] = []
        order = sorted(self._columns, key=lambda c: (c.priority, self._columns.index(c)))
        for col in order:
            if col in collapsed:
                continue
            if col.priority == 0 or need([*chosen, col]) <= width:
                chosen.append(col)
        chosen.sort(key=self._columns.index)
        spare = max(0, width - need(chosen))
        flex = [c for c in chosen if c.flex]
        laid = []
        for c in chosen:
            w = c.width
            if flex and c is flex[0]:
                w += spare
            laid.append((c, w))
        if not flex and laid and spare:
            last_col, last_w = laid[-1]
            laid[-1] = (last_col, last_w + spare)
        self._grid_layout = (width, laid)
        return laid

    def current_layout(self) -> list[tuple[Column, int]]:
        """The columns and widths lines are drawn with now (the last layout, which a
        resize or a collapsed column drops, else computed for the current width)."""
        if self._grid_layout is not None:
            return self._grid_layout[1]
        return self.layout_for(self.scrollable_content_region.width)

    def column_widths(self) -> dict[str, int]:
        """:meth:`current_layout` by column key."""
        laid = self.current_layout()
        cached = self._widths
        if cached is None or cached[0] is not laid:
            cached = self._widths = (laid, {c.key: w for c, w in laid})
        return cached[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cell_styles.clear()
        self._base = None

    @property
    def _base_style(self) -> Style:
        """``rich_style`` (it walks every ancestor's styles: ~15-25% of a line's render),
        kept until the styles change like the component styles above."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _style(self, name: str | None) -> Style:
        if not name:
            return _PLAIN
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(f"grid--{name}", partial=True, default=_PLAIN)
            self._styles[name] = style
        return style

    def _cell_text(self, cell: Cell, width: int, align: str) -> Text:
        if isinstance(cell, Text):
            text = cell.copy()
        else:
            value, style = cell
            text = Text(value, style=self._style(style), end="")
        text.truncate(width, overflow="ellipsis")
        pad = width - text.cell_len
        if pad > 0:
            if align == "right":
                text = Text(" " * pad, end="") + text
            else:
                text.append(" " * pad)
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._base_style
        if width <= 0:
            return Strip.blank(0, base)
        laid = self.layout_for(width)
        if self.show_header and y == 0:
            header = Text(end="")
            for i, (col, w) in enumerate(laid):
                if i:
                    header.append(" ")
                header.append_text(self._cell_text((col.label, None), w, col.align))
            style = base + self._style("header")
            return self._strip(header, width, style)
        index = round(self.scroll_y) + y - self._header_lines
        n = self.row_count()
        if n == 0:
            if y == self._header_lines:
                msg = Text(self.empty_text, style=self._style("empty"), end="")
                return self._strip(msg, width, base)
            return Strip.blank(width, base)
        if index >= n:
            return Strip.blank(width, base)
        cells = self.row_cells(index)
        if cells is None:
            line = Text("\u2026", style=self._style("dim"), end="")
            return self._strip(line, width, base)
        return self._cells_strip(cells, laid, width, index == self.cursor)

    def _cells_strip(
        self, cells: Sequence[Cell], laid: list[tuple[Column, int]], width: int, cursor: bool
    ) -> Strip:
        """One row's line, built as segments directly: a plain cell is one segment (its
        padding styled as ``Text.truncate`` and the alignment leave it), a ``Text`` cell
        is rendered on its own; the styles are those of one ``Text`` of the whole line
        (cell styles under the cursor's background)."""
        line_style, overlay = self._line_styles(cursor)
        gap = self._cell_style(None, cursor)  # the separators and a right cell's padding
        segments: list[Segment] = []
        add = segments.append
        sep = Segment(" ", gap)
        positions = self._positions
        for i, (col, w) in enumerate(laid):
            if i:
                add(sep)
            pos = positions[col]
            cell = cells[pos] if pos < len(cells) else ("", None)
            if isinstance(cell, Runs) and (length := cell_len(cell.plain)) <= w:
                pad = w - length
                if pad and col.align == "right":
                    add(Segment(" " * pad, gap))
                for text, own in cell.parts:
                    if not text:
                        continue
                    if overlay is not None:
                        own = own + overlay
                    add(Segment(strip_control_codes(text), line_style + own if own else line_style))
                if pad and col.align != "right":
                    add(Segment(" " * pad, gap))
                continue
            if isinstance(cell, Runs):  # wider than its column: cut like a Text
                cell = Text.assemble(*cell.parts, end="")
            if isinstance(cell, Text):
                text = self._cell_text(cell, w, col.align)
                if overlay is not None:
                    text.stylize(overlay)
                for seg in text.render(self.app.console, end=""):
                    add(Segment(seg.text, line_style + seg.style if seg.style else line_style))
                continue
            value, name = cell
            style = self._cell_style(name, cursor)
            value = strip_control_codes(value)
            length = cell_len(value)
            if length > w:
                value = set_cell_size(value, w - 1) + "\u2026"
                length = cell_len(value)
            pad = w - length
            if pad <= 0:
                add(Segment(value, style))
            elif col.align == "right":
                add(Segment(" " * pad, gap))
                if value:
                    add(Segment(value, style))
            else:
                add(Segment(value + " " * pad, style))
        return Strip(segments).adjust_cell_length(width, line_style)

    def _line_styles(self, cursor: bool) -> tuple[Style, Style | None]:
        """The style under a row's cells, and the cursor's overlay (``None`` off it)."""
        base = self._base_style
        if not cursor:
            return base, None
        cursor_style = self._style("cursor" if self.has_focus else "cursor-blurred")
        overlay = Style(bgcolor=cursor_style.bgcolor, bold=cursor_style.bold)
        return base + Style(bgcolor=cursor_style.bgcolor), overlay

    def _cell_style(self, name: str | None, cursor: bool) -> Style:
        """The full style of a plain cell's text, cached like the component styles."""
        key = (name, cursor, self.has_focus if cursor else False)
        style = self._cell_styles.get(key)
        if style is None:
            line_style, overlay = self._line_styles(cursor)
            own = self._style(name)
            if overlay is not None:
                own = own + overlay
            style = line_style + own if own else line_style
            self._cell_styles[key] = style
        return style

    @property
    def _positions(self) -> dict[Column, int]:
        """Each column's position in the row's cells."""
        if self._column_positions is None:
            self._column_positions = {c: n for n, c in enumerate(self._columns)}
        return self._column_positions

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        segments = [
            Segment(seg.text, style + seg.style if seg.style else style, seg.control)
            for seg in text.render(self.app.console, end="")
        ]
        return Strip(segments).adjust_cell_length(width, style)


def _at(rows: tuple[Row, ...], index: int) -> Row | None:
    return rows[index] if index < len(rows) else None
