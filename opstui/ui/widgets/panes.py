"""The four dashboard panes: Queues, Owners, SLA and Capacity.

Each pane is a :class:`GridView` fed with an immutable snapshot from one store query
(run in a thread worker by the app).  The pane base is ``pane.py``; the SLA pane, which
recomputes its cells from cached due times and never touches the database, is
``sla_pane.py`` (both importable from here).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text

from ...domain.figures import BASIS_AVAILABLE, busiest_share
from ...store.panes import OwnerStat, QueueStat
from ..text import age, clean, hours
from .grid import Cell, Column, Row, Runs
from .pane import Pane
from .sla_pane import SLA_LABEL, SlaPane, text_wait

__all__ = [
    "SLA_LABEL",
    "CapacityPane",
    "OwnersPane",
    "Pane",
    "QueuesPane",
    "SlaPane",
    "busiest_summary",
    "load_bar",
    "load_style",
    "text_wait",
]


def _count(n: int, style: str | None = None) -> Cell:
    return (str(n) if n else "·", style if n else "dim")


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


def busiest_summary(people: Sequence[OwnerStat]) -> str:
    """ "busiest alice holds 34% of 120h": ``figures.busiest_share`` of all owned load."""
    by_handle = {p.handle: p.hours for p in people if p.handle is not None}
    top, share = busiest_share(by_handle)
    if top is None or share is None:
        return "no open estimates"
    total = sum(by_handle.values())
    return f"busiest {clean(top)} holds {share * 100:.0f}% of {hours(total)}"
