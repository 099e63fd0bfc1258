"""The four dashboard panes: Queues, Owners, SLA and Capacity.

Each pane is a :class:`GridView` fed with an immutable snapshot from one store query
(run in a thread worker by the app).  The SLA pane recomputes its cells from cached due
times on every tick; it never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime, timedelta

from rich.style import Style
from rich.text import Text
from textual import events
from textual.content import Content
from textual.geometry import Region

from ...domain import targets as sla_view
from ...domain.figures import BASIS_AVAILABLE, busiest_share
from ...domain.forecast import late_by
from ...store.panes import OwnerStat, QueueStat, SlaRow
from ..text import age, clean, duration, hours, short_names
from .grid import Cell, Column, GridView, Row, Runs

SLA_LABEL = {
    "ok": "ok",
    "warning": "warn",
    "breached": "BREACH",
    "paused": "paused",
    "met": "met",
    "drift": "DRIFT",
}


def _count(n: int, style: str | None = None) -> Cell:
    return (str(n) if n else "·", style if n else "dim")


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


class QueuesPane(Pane):
    COLUMNS = (
        Column("queue", "Queue", 10, flex=True),
        #: open items (= work in progress) against the WIP limit: ``14/30``
        Column("open", "Open", 6, "right"),
        Column("new", "New", 3, "right", priority=1),
        Column("unowned", "Unow", 4, "right"),
        Column("breach", "Brch", 4, "right"),
        Column("warn", "Warn", 4, "right", priority=3),
        Column("oldest", "Age", 4, "right", priority=2),
        Column("triage", "Triage", 8, priority=5),
    )

    COLLAPSE_EMPTY = True
    COUNT_HIDDEN = True

    def __init__(self) -> None:
        super().__init__("Queues", self.COLUMNS, id="queues", empty_text="no queues yet")
        self.stats: tuple[QueueStat, ...] = ()
        self._shown_minute = ""
        self._slugs: tuple[str, ...] = ()

    def show(self, stats: Sequence[QueueStat], now: datetime) -> None:
        """Show ``stats`` in the order given (``store.panes.by_attention``)."""
        if tuple(stats) == self.stats and self._shown_minute == now.strftime("%H%M"):
            return  # nothing changed (the ages shown change by the minute at most)
        self._shown_minute = now.strftime("%H%M")
        self.stats = tuple(stats)
        self._slugs = self.names_of(q.slug for q in stats)
        rows = []
        for q in stats:
            wip = f"{q.open}/{q.wip_limit}" if q.wip_limit else str(q.open)
            if q.over_wip:
                wip = "!" + wip
            rows.append(
                Row(
                    q.slug,
                    (
                        (clean(q.slug), None),
                        (wip, "load-over" if q.over_wip else (None if q.open else "dim")),
                        _count(q.new),
                        _count(q.unowned, "flag-unowned"),
                        _count(q.breaching, "sla-breached"),
                        _count(q.warning, "sla-warning"),
                        (age(now, q.oldest_open_at) if q.open else "·", None if q.open else "dim"),
                        (clean(q.triage_owner) if q.triage_owner else "-", "dim"),
                    ),
                )
            )
        self.set_rows(rows)

    def empty_columns(self) -> set[int]:
        """Only the triage column can hold nothing: when no queue has a triage owner it
        gives its width to the names (zero counts are figures, and stay)."""
        if any(q.triage_owner for q in self.stats):
            return set()
        return {n for n, c in enumerate(self.columns) if c.key == "triage"}

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        cells = list(super().row_cells(index) or ())
        if cells and index < len(self.stats):
            cells[0] = (self.short_name(clean(self.stats[index].slug), "queue", self._slugs), None)
        return cells


def load_bar(share: float | None, width: int, style: Style | None = None) -> Runs:
    """A bar of ``width`` cells for a share (1.0 = full capacity), then the percentage,
    in ``style`` (the empty part dim)."""
    style = style or Style()
    if share is None:
        return Runs((("no capacity", style),))
    pct = f"{share * 100:4.0f}%" + ("!" if share > 1.0 else " ")
    cells = max(0, width - len(pct) - 1)
    filled = min(cells, round(min(share, 1.0) * cells))
    return Runs(
        (
            ("\u2588" * filled, style),
            ("\u2591" * (cells - filled), _DIM + style),
            (" " + pct, style),
        )
    )


_DIM = Style(dim=True)


def load_style(share: float | None) -> str:
    if share is None:
        return "dim"
    if share > 1.0:
        return "load-over"
    if share >= 0.8:
        return "load-high"
    return "load-ok"


class OwnersPane(Pane):
    COLUMNS = (
        Column("who", "Owner", 9, flex=True),
        Column("open", "Open", 4, "right"),
        Column("breach", "Brch", 4, "right"),
        Column("drift", "Drft", 4, "right", priority=1),
        Column("hours", "Hours", 5, "right"),
        Column("load", "Load", 5, "right", priority=1),
        Column("flag", "", 4, priority=2),
        Column("team", "Team", 9, priority=4),
    )

    COLLAPSE_EMPTY = True
    COUNT_HIDDEN = True

    def __init__(self) -> None:
        # the load column's basis is said in the title (compact mode shows only the title)
        title = f"Owners \u00b7 load % of {BASIS_AVAILABLE}"
        super().__init__(title, self.COLUMNS, id="owners", empty_text="no people yet")
        self.stats: tuple[OwnerStat, ...] = ()
        self._handles: tuple[str, ...] = ()
        #: Each shown stat's row by the stat's id (the row keeps the stat as its source).
        self._rows_built: dict[int, Row] = {}

    def show(self, stats: Sequence[OwnerStat]) -> None:
        # the unowned row first: never scrolled out of sight
        stats = sorted(stats, key=lambda p: p.id is not None)
        if tuple(stats) == self.stats and self.row_count():
            return
        self.stats = tuple(stats)
        self._handles = self.names_of(p.handle for p in stats if p.handle)
        # the model hands out the same stat objects for people a change did not touch
        built = self._rows_built
        self._rows_built = {}
        rows = []
        for p in stats:
            row = built.get(id(p))
            if row is not None and row.source is p:
                self._rows_built[id(p)] = row
                rows.append(row)
                continue
            row = self._row(p)
            self._rows_built[id(p)] = row
            rows.append(row)
        self.set_rows(rows)

    @staticmethod
    def _row(p: OwnerStat) -> Row:
        """A person's row (or the unowned row) as the pane shows it."""
        if p.id is None:
            who: Cell = ("(unowned)", "flag-unowned")
            flag: Cell = ("", None)
            load: Cell = ("", None)
        else:
            who = (clean(p.handle), None if p.active else "dim")
            flag = ("away", "flag-away") if p.is_away else ("", None)
            if not p.active:
                flag = ("left", "dim")
            share = p.load
            load = (f"{share * 100:.0f}%" if share is not None else "-", load_style(share))
        return Row(
            p.handle or "-",
            (
                who,
                _count(p.open, "flag-unowned" if p.id is None else None),
                _count(p.breached, "sla-breached"),
                _count(p.drifting, "sla-drift"),
                (hours(p.hours) if p.open else "·", None if p.open else "dim"),
                load,
                flag,
                (clean(p.team), "dim"),
            ),
            source=p,  # row_cells adds the full name
        )

    def empty_columns(self) -> set[int]:
        """The team and away/left columns hold nothing when nobody has a team or is away
        or gone: their width goes to the names."""
        blank = set()
        if not any(p.team.strip() for p in self.stats):
            blank.add("team")
        if not any(p.is_away or not p.active for p in self.stats if p.id is not None):
            blank.add("flag")
        return {n for n, c in enumerate(self.columns) if c.key in blank}

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        """The handle (shortened to stay apart from the others when the column is
        narrow), and the full name as well when the column is wide enough."""
        cells = list(super().row_cells(index) or ())
        p = self.stats[index]
        if p.id is None or not p.handle:
            return cells
        width = self.column_widths()
        style = None if p.active else "dim"
        if width.get("who", 0) >= 24 and p.name and p.name != p.handle:
            who = Text(clean(p.handle), style=self._style(style), end="")
            who.append("  ")
            who.append(clean(p.name), style=self._style("dim"))
            cells[0] = who
        else:
            cells[0] = (self.short_name(clean(p.handle), "who", self._handles), style)
        return cells


class CapacityPane(Pane):
    COLUMNS = (
        Column("who", "Person", 9),
        #: load % on the BASIS_AVAILABLE basis (domain.figures): said in the header
        Column("bar", "Load of avail hrs", 14, flex=True),
        Column("hours", "Hours", 9, "right", priority=1),
        Column("flag", "", 5, priority=2),
    )

    def __init__(self) -> None:
        super().__init__("Capacity", self.COLUMNS, id="capacity", empty_text="no people yet")
        self.stats: tuple[OwnerStat, ...] = ()
        self._summary = ""
        self._handles: tuple[str, ...] = ()

    def show(self, stats: Sequence[OwnerStat]) -> None:
        owners = [p for p in stats if p.id is not None]
        people = [p for p in owners if p.active]
        people.sort(key=lambda p: (-(p.load or 0.0), p.handle or ""))
        if tuple(people) == self.stats and self.row_count():
            return  # the same people with the same load: nothing to redraw
        self.stats = tuple(people)
        summary = busiest_summary(owners)
        if summary != self._summary:
            self._summary = summary
            self._set_subtitle(summary)
        self._handles = self.names_of(sorted(p.handle for p in people))
        self.set_rows([Row(p.handle, (), source=p) for p in people])

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        p = self.stats[index]
        share = p.load
        style = load_style(share)
        bar_width = self.column_widths().get("bar", 14)
        bar = load_bar(share, bar_width, self._style(style))
        flag: Cell = ("", None)
        if share is not None and share > 1.0:
            flag = ("OVER", "load-over")
        elif p.is_away:
            flag = ("away", "flag-away")
        return (
            (self.short_name(clean(p.handle), "who", self._handles), None),
            bar,
            (f"{hours(p.hours)}/{hours(p.available_hours)}", None),
            flag,
        )


def _texts(r: SlaRow) -> tuple[Cell, str | None, Cell]:
    """An SLA row's cleaned texts: its key and title cells, and the owner (shortened to
    the column when drawn)."""
    return (clean(r.key), None), (clean(r.owner) if r.owner else None), (clean(r.title), None)


def busiest_summary(people: Sequence[OwnerStat]) -> str:
    """ "busiest alice holds 34% of 120h": ``figures.busiest_share`` of all owned load."""
    by_handle = {p.handle: p.hours for p in people if p.handle is not None}
    top, share = busiest_share(by_handle)
    if top is None or share is None:
        return "no open estimates"
    total = sum(by_handle.values())
    return f"busiest {clean(top)} holds {share * 100:.0f}% of {hours(total)}"


def text_wait(left: float) -> float:
    """Seconds until a countdown with ``left`` seconds reads differently in the one time
    format (``domain.sla.format_remaining``: seconds under a minute, then minutes, then
    hours from a day), counting down to zero and then up past it."""
    s = int(abs(left))
    unit = 1 if s < 60 else 60 if s < 86400 else 3600
    if left > 0:
        return left - unit * (s // unit)
    return unit * (s // unit + 1) - abs(left)


def _change_wait(row: SlaRow, t: sla_view.Target | None, now: datetime) -> float | None:
    """Seconds until a row whose nearest target is ``t`` reads differently, if it counts
    under an hour (None: paused, none, or an hour or more away: the minute tick)."""
    if t is None or t.state == "paused":
        return None  # a paused countdown stands still
    left = t.left.total_seconds()
    if abs(left) >= 3600:
        return None
    wait = text_wait(left)
    for at in (row.sla_fr_warn, row.sla_res_warn, row.sla_fr_due, row.sla_res_due, row.due_at):
        if at is not None and at > now:  # its state (or its nearest target) changes
            wait = min(wait, (at - now).total_seconds())
    return wait


class SlaPane(Pane):
    """Open items by time left on their nearest SLA target, ticking every second; or
    (``o``) the drifting ones first, the latest finish first, then the rest by time left."""

    #: Orders ``o`` cycles through, and the pane title that says which one is on.
    ORDERS = {"due": "SLA", "drift": "SLA \u00b7 by drift, latest first"}

    COLUMNS = (
        Column("state", "State", 6),
        Column("left", "Left", 7, "right"),
        Column("key", "Item", 8),
        Column("owner", "Owner", 6, priority=3),
        #: at least 12 cells: at 80 columns the owner gives way to the title
        Column("title", "Title", 12, flex=True, priority=1),
        Column("target", "Tgt", 4, priority=3),
    )

    def __init__(self, now: Callable[[], datetime]) -> None:
        super().__init__(
            "SLA", self.COLUMNS, id="sla", empty_text="no open item has an SLA target or due time"
        )
        self._now = now
        self.order = "due"
        self.items: tuple[SlaRow, ...] = ()
        self._signature: tuple[object, ...] = ()
        self._announced: set[str] = set()
        self._owners: tuple[str, ...] = ()
        #: The soonest instant a shown countdown reaches zero (the tick scans only then).
        self._next_crossing: datetime | None = None
        #: Each row's cleaned text cells (key, owner, title) by the row's id (the row is
        #: kept beside them, so an id is never mistaken): computed once per row, not on
        #: every tick, and without hashing every row on every change.
        self._texts: dict[int, tuple[SlaRow, tuple[Cell, str | None, Cell]]] = {}
        #: The rows last handed to show() (the model hands out the same objects again).
        self._shown: tuple[SlaRow, ...] = ()
        #: As of the last comparison: for which rows and view, and when a visible
        #: countdown under an hour next reads differently (the app ticks then).
        self._change: tuple[tuple[object, ...], datetime | None] = ((), None)

    def show(self, rows: Sequence[SlaRow]) -> None:
        rows = tuple(rows)
        if rows == self._shown and self.items:
            return  # the same rows (the model hands out the same objects): nothing to do
        self._shown = rows
        if set(rows) == set(self.items) and len(rows) == len(self.items) and self.items:
            return  # the same rows: the tick keeps their countdowns and order current
        kept = self._same_order(rows)
        if kept is not None:
            self._show_items(kept)  # e.g. an owner changed: nothing that orders the rows
            return
        now = self._now()
        by_drift = self.order == "drift"

        def order(r: SlaRow) -> tuple[float, ...]:
            t = sla_view.nearest(r, now)
            left = t.left.total_seconds() if t else float("inf")
            if by_drift:
                late = late_by(r.drift_note) if self._marked_drift(r, t) else None
                return (late is None, -(late or 0.0), left, r.id)
            return (left, r.id)

        self._show_items(tuple(sorted(rows, key=order)))

    def _same_order(self, rows: tuple[SlaRow, ...]) -> tuple[SlaRow, ...] | None:
        """``rows`` in the order shown now, when they are the same items and none changed
        what orders them (its targets, its drift); else None (sort them)."""
        if not self.items or len(rows) != len(self.items):
            return None
        by_id = {r.id: r for r in rows}
        out = []
        for old in self.items:
            new = by_id.get(old.id)
            if new is None:
                return None
            if new is not old and not (
                sla_view.same_targets(old, new)
                and (old.drifting, old.drift_note) == (new.drifting, new.drift_note)
            ):
                return None
            out.append(new)
        return tuple(out)

    def _show_items(self, items: tuple[SlaRow, ...]) -> None:
        self.items = items
        texts = self._texts
        self._texts = {
            id(r): texts[id(r)] if id(r) in texts and texts[id(r)][0] is r else (r, _texts(r))
            for r in self.items
        }
        self._owners = self.names_of(sorted({r.owner for r in self.items if r.owner}))
        self._next_crossing = None  # scan at the next tick
        # only the lines whose row changed are redrawn; the tick compares countdowns with
        # what it last drew, line by line
        self.set_rows([Row(r.key, (), source=r) for r in self.items])
        self._redraw_changed_lines(drawn=True)

    def cycle_order(self) -> str:
        """The next order (``o``): re-sorts the rows and says the order in the title."""
        names = list(self.ORDERS)
        self.order = names[(names.index(self.order) + 1) % len(names)]
        self.border_title = self.ORDERS[self.order]
        rows, self.items = self.items, ()
        self.show(rows)
        return self.order

    @staticmethod
    def _marked_drift(r: SlaRow, t: sla_view.Target | None) -> bool:
        """Shown as DRIFT: the forecast says it drifts and it has not breached yet."""
        return r.drifting and t is not None and t.state != "breached"

    def row_for(self, key: Hashable | None) -> SlaRow | None:
        for r in self.items:
            if r.key == key:
                return r
        return None

    def state_of(self, row: SlaRow) -> str:
        t = sla_view.nearest(row, self._now())
        return t.state if t else "ok"

    def row_cells(self, index: int) -> Sequence[Cell] | None:
        r = self.items[index]
        return self._cells(r, sla_view.nearest(r, self._now()))

    def _owner_cell(self, owner: str | None) -> Cell:
        if owner is None:
            return ("-", "flag-unowned")
        return (self.short_name(owner, "owner", self._owners), None)

    def _cells(self, r: SlaRow, t: sla_view.Target | None) -> tuple[Cell, ...]:
        entry = self._texts.get(id(r))
        if entry is None or entry[0] is not r:
            entry = self._texts[id(r)] = (r, _texts(r))
        key, owner, title = entry[1]
        if t is None:
            return (("met", "sla-met"), ("", None), key, ("", None), title, ("", None))
        style = f"sla-{t.state}"
        # Not breached yet, but the forecast says it will be: its own marker and colour.
        label = "drift" if self._marked_drift(r, t) else t.state
        return (
            (SLA_LABEL[label], "sla-drift" if label == "drift" else style),
            (duration(t.left.total_seconds()), style),
            key,
            self._owner_cell(owner),
            title,
            (t.short, "dim"),
        )

    def _redraw_changed_lines(self, *, drawn: bool = False) -> None:
        """Redraw the visible lines whose text changed since they were last compared
        (countdowns, state labels); nothing else.  ``drawn``: every line was just
        redrawn from the current cells if there was nothing to compare with.  Notes
        when a visible countdown under an hour next reads differently
        (:meth:`next_change_in`)."""
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        now = self._now()
        rows: list[tuple[object, ...]] = []
        soonest: float | None = None
        for r in self.items[top : top + height]:
            t = sla_view.nearest(r, now)
            if t is None:
                rows.append((r,))
                continue
            # what the line shows beyond the row itself (see _cells): the countdown, the
            # state, and the owner as short as the column and the other owners make it
            entry = self._texts.get(id(r))
            owner = entry[1][1] if entry is not None and entry[0] is r else clean(r.owner)
            left = t.left.total_seconds()
            rows.append((r, t.state, t.short, duration(left), self._owner_cell(owner or None)))
            wait = _change_wait(r, t, now)
            if wait is not None and (soonest is None or wait < soonest):
                soonest = wait
        at = None if soonest is None else now + timedelta(seconds=soonest)
        self._change = (self._view_key(), at)
        signature = tuple(rows)
        old, self._signature = self._signature, signature
        if signature == old:
            return
        if not old and drawn:
            return
        self.refresh_rows(
            top + n
            for n in range(max(len(old), len(signature)))
            if n >= len(old) or n >= len(signature) or old[n] != signature[n]
        )

    def _view_key(self) -> tuple[object, ...]:
        return (id(self.items), round(self.scroll_y), self.scrollable_content_region.height)

    def _next_change(self, now: datetime) -> datetime | None:
        """When a visible countdown under an hour next shows other text: its figure (every
        second under a minute, every minute under an hour) or its state (a warning or a
        due instant).  None when no visible countdown is under an hour."""
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height)
        soonest: float | None = None
        for r in self.items[top : top + height]:
            wait = _change_wait(r, sla_view.nearest(r, now), now)
            if wait is not None and (soonest is None or wait < soonest):
                soonest = wait
        return None if soonest is None else now + timedelta(seconds=soonest)

    def next_change_in(self, now: datetime) -> float | None:
        """Seconds until a visible countdown under an hour reads differently (the app
        ticks then), or None when none is in view.  Answered from the last comparison
        while the rows and the view are the same and that moment is still ahead."""
        key, at = self._change
        if key != self._view_key() or (at is not None and at <= now):
            at = self._next_change(now)
            self._change = (self._view_key(), at)
        return None if at is None else max(0.0, (at - now).total_seconds())

    def tick(self) -> list[SlaRow]:
        """Redraw if any visible countdown changed; return rows that just breached."""
        if not self.items:
            return []
        self._redraw_changed_lines()
        now = self._now()
        if self._next_crossing is not None and now < self._next_crossing:
            return []  # no countdown can have crossed zero yet: skip the scan
        breached = []
        nxt: datetime | None = None
        for r in self.items:
            t = sla_view.nearest(r, now)
            if t is None:
                continue
            if t.state == "breached":
                if r.key not in self._announced:
                    self._announced.add(r.key)
                    if t.left.total_seconds() > -5:  # crossed since the last load
                        breached.append(r)
            elif t.state != "paused":
                due = now + t.left
                nxt = due if nxt is None else min(nxt, due)
        self._next_crossing = nxt if nxt is not None else now + timedelta(hours=1)
        return breached
