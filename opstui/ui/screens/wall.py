"""The wall view: the dashboard for a big screen that nobody types at.

Counts in large digits across the top, the breached work in bold on the right, and the four
dashboard panes (the same widgets and the same data as the dashboard) taking turns in the
middle, one every :data:`CYCLE_SECONDS`.  No key is needed; in a terminal, escape goes back
to the dashboard when the wall was opened from it (``W``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Digits, Static

from ...domain import targets
from ...store.panes import QueueStat, SlaRow
from ..messages import PaneData
from ..text import clean, duration
from ..widgets.panes import CapacityPane, OwnersPane, QueuesPane, SlaPane
from ..widgets.status import StatusBar

#: Seconds each pane stays on the wall before the next one.
CYCLE_SECONDS = 12
#: The panes in the order they take turns: (widget id, label).
PAGES = (("queues", "Queues"), ("sla", "SLA"), ("owners", "Owners"), ("capacity", "Capacity"))


class Tile(Vertical):
    """One figure in large digits with its label."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="tile")
        self.label = label

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="tile-label")
        yield Digits("-", classes="tile-digits")

    def set_value(self, value: int) -> None:
        digits = self.query_one(Digits)
        text = str(value)
        if digits.value != text:
            digits.update(text)
        self.set_class(value > 0, "-nonzero")


def totals(queues: Sequence[QueueStat]) -> dict[str, int]:
    """The wall's headline figures: the Queues pane's columns added up over all queues."""
    return {
        "breached": sum(q.breaching for q in queues),
        "warning": sum(q.warning for q in queues),
        "unowned": sum(q.unowned for q in queues),
        "open": sum(q.open for q in queues),
    }


def breached_rows(rows: Sequence[SlaRow], now: datetime) -> list[tuple[SlaRow, targets.Target]]:
    """SLA rows whose nearest target is breached, the longest overdue first."""
    out = []
    for r in rows:
        t = targets.nearest(r, now)
        if t is not None and t.state == "breached":
            out.append((r, t))
    out.sort(key=lambda pair: (pair[1].left, pair[0].id))
    return out


def breached_text(pairs: Sequence[tuple[SlaRow, targets.Target]], limit: int) -> Text:
    """The breached list: key and how long over on one line, owner and title below."""
    if not pairs:
        return Text("nothing breached", style="italic", end="")
    text = Text(end="", no_wrap=True, overflow="ellipsis")
    for n, (r, t) in enumerate(pairs[:limit]):
        if n:
            text.append("\n\n")
        text.append(clean(r.key), style="bold")
        text.append("  ")
        text.append(f"{duration(t.left.total_seconds())} {t.short}", style="bold reverse")
        text.append("\n")
        text.append(clean(r.owner) if r.owner else "unowned", style="bold" if r.owner else "")
        text.append("  ")
        text.append(clean(r.title), style="dim")
    if len(pairs) > limit:
        text.append(f"\n\n+{len(pairs) - limit} more", style="bold")
    return text


class WallScreen(Screen[None]):
    """Queues, SLA countdowns and breached work for a wall screen, cycling by itself."""

    BINDINGS = [Binding("escape", "leave", "Dashboard", show=False)]
    AUTO_FOCUS = None  # nobody types at a wall: nothing is focused, no cursor is drawn

    DEFAULT_CSS = """
    WallScreen { layout: vertical; }
    WallScreen #wall-tiles { height: 5; }
    WallScreen .tile {
        width: 1fr;
        height: 5;
        padding: 0 1;
        border-left: tall $border-blurred;
    }
    WallScreen .tile-label { color: $foreground-muted; text-style: bold; }
    WallScreen .tile-digits { color: $foreground-muted; }
    WallScreen #tile-breached.-nonzero .tile-digits { color: $sla-breached; text-style: bold; }
    WallScreen #tile-warning.-nonzero .tile-digits { color: $sla-warning; }
    WallScreen #tile-unowned.-nonzero .tile-digits { color: $flag-unowned; }
    WallScreen #tile-open .tile-digits { color: $foreground; }
    WallScreen #wall-body { height: 1fr; }
    WallScreen #wall-pages { width: 2fr; height: 1fr; }
    WallScreen #wall-breached {
        width: 1fr;
        min-width: 28;
        height: 1fr;
        border: round $sla-breached;
        border-title-color: $sla-breached;
        border-title-style: bold;
        color: $sla-breached;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    WallScreen #wall-breached.-none { border: round $border-blurred; color: $foreground-muted; }
    WallScreen #wall-pager { height: 1; color: $foreground-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self._breached: tuple[str, int] | None = None
        self._pager_text = ""

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield StatusBar("wall")
        with Horizontal(id="wall-tiles"):
            yield Tile("Breached", id="tile-breached")
            yield Tile("Warning", id="tile-warning")
            yield Tile("Unowned", id="tile-unowned")
            yield Tile("Open", id="tile-open")
        with Horizontal(id="wall-body"):
            with ContentSwitcher(initial=PAGES[0][0], id="wall-pages"):
                for pane in (QueuesPane(), SlaPane(app.clock.now), OwnersPane(), CapacityPane()):
                    pane.can_focus = False
                    yield pane
            breached = Static(id="wall-breached")
            breached.border_title = "Breached now"
            yield breached
        yield Static(id="wall-pager")

    def on_mount(self) -> None:
        app: Any = self.app
        self.set_interval(CYCLE_SECONDS, self.next_page, name="wall-cycle")
        self._show_pager()
        if app.pane_data is not None:
            self.show(app.pane_data, app.pane_data)

    def on_screen_resume(self) -> None:
        app: Any = self.app
        app.resume_panes()

    # --- data (the app calls show() after each pane load and tick() on every tick) ---------

    def show(self, data: PaneData, changed: PaneData) -> None:
        if not self.query(QueuesPane):
            return  # not composed yet: on_mount shows app.pane_data
        now = data.loaded_at
        with self.app.batch_update():
            if changed.queues is not None:
                self.query_one(QueuesPane).show(data.queues or (), now)
                for name, value in totals(data.queues or ()).items():
                    self.query_one(f"#tile-{name}", Tile).set_value(value)
            if changed.owners is not None:
                self.query_one(OwnersPane).show(data.owners or ())
                self.query_one(CapacityPane).show(data.owners or ())
            if changed.sla is not None:
                self.query_one(SlaPane).show(data.sla or ())
                self._show_breached()
            self.query_one(StatusBar).refresh()

    def tick(self) -> list[SlaRow]:
        self.query_one(StatusBar).tick()
        breached = self.query_one(SlaPane).tick()
        self._show_breached()
        return breached

    def _show_breached(self) -> None:
        app: Any = self.app
        pane = self.query_one(SlaPane)
        pairs = breached_rows(pane.items, app.clock.now())
        box = self.query_one("#wall-breached", Static)
        limit = max(1, (box.size.height - 2) // 3) if box.size.height else 8
        text = breached_text(pairs, limit)
        signature = (text.plain, limit)
        if signature != self._breached:
            self._breached = signature
            box.update(text)
            box.set_class(not pairs, "-none")
            box.border_title = f"Breached now: {len(pairs)}" if pairs else "Breached now"

    # --- cycling ---------------------------------------------------------------------------

    def next_page(self) -> None:
        self.page = (self.page + 1) % len(PAGES)
        self.query_one(ContentSwitcher).current = PAGES[self.page][0]
        self._show_pager()

    def _show_pager(self) -> None:
        text = Text(end="")
        for n, (_, label) in enumerate(PAGES):
            if n:
                text.append("  ·  ", style="dim")
            text.append(label, style="bold reverse" if n == self.page else "")
        text.append(f"   (each {CYCLE_SECONDS}s)", style="dim")
        self.query_one("#wall-pager", Static).update(text)

    def action_leave(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
