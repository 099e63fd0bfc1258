"""The one-line status bar at the top of every screen."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from ..text import clean


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, where: str = "") -> None:
        super().__init__()
        self.where = where

    def tick(self) -> None:
        """Redraw only when the minute shown changes (an idle terminal stays idle)."""
        app: Any = self.app
        minute = app.clock.now().strftime("%Y%m%d%H%M")
        if minute != getattr(self, "_minute", None):
            self._minute = minute
            self.refresh()

    def data_changed(self) -> None:
        """The pane data changed: redraw only if the totals shown here did."""
        app: Any = self.app
        data = app.pane_data
        totals = (
            tuple(sum(getattr(q, f) for q in data.queues) for f in ("open", "breaching", "unowned"))
            if data is not None and data.queues
            else None
        )
        if totals != getattr(self, "_totals", None):
            self._totals = totals
            self.refresh()

    def render(self) -> Any:
        app: Any = self.app
        text = Text(" opstui ", style="bold", end="")
        text.append(clean(app.db.name), style="")
        if self.where:
            text.append(" \u203a ", style="dim")
            text.append(clean(self.where))
        if app.db.readonly:
            badge = getattr(app.db, "readonly_badge", None) or "read-only"
            text.append(f"  {badge} ", style="reverse bold")
        # live sync: "watching" | "polling (why)" | "reconnecting (why)"
        mode = getattr(app, "sync_mode", "off")
        if mode.startswith(("polling", "reconnecting")):
            text.append("  ")
            text.append(f" {clean(mode)} ", style="reverse")
        data = app.pane_data
        now = app.clock.now()
        clock = Text(now.strftime("%a %H:%M UTC "), style="dim", end="")
        if mode == "watching" and not getattr(app.db, "readonly_badge", None):  # not the past
            clock = Text("\u25cf live  ", style="dim", end="") + clock
        parts: list[Text] = []
        me = getattr(app, "my_handle", None)
        if me and data is not None and data.owners is not None:
            mine = next((o.open for o in data.owners if o.handle == me), 0)
            parts.append(Text(f"{mine} mine", style="bold" if mine else "", end=""))
        if data is not None and data.queues:
            open_n = sum(q.open for q in data.queues)
            breach = sum(q.breaching for q in data.queues)
            unowned = sum(q.unowned for q in data.queues)
            parts.append(Text(f"{open_n} open", end=""))
            if unowned:
                parts.append(Text(f"{unowned} unowned", end=""))
            if breach:
                parts.append(Text(f"{breach} breached", style="bold", end=""))
        # failing deliveries (the outbox): shortened first, dropped last
        outbox = getattr(app, "outbox_summary", None)
        forms: list[str] = []
        if outbox is not None and outbox.count:
            forms = [
                outbox.short(),
                outbox.short().split(":")[0],
                f"outbox: {outbox.count} failing",
            ]
        width = self.size.width
        # drop the least important parts until the line fits
        while True:
            shown = parts + [Text(clean(forms[0]), style="bold", end="")] if forms else parts
            right = Text(" \u00b7 ", end="").join(shown)
            if shown:
                right.append("  ")
            right.append_text(clock)
            if text.cell_len + right.cell_len + 1 <= width or not shown:
                break
            if len(forms) > 1:
                forms.pop(0)
            elif len(parts) > 1:
                parts.pop(1)
            elif parts:
                parts.pop(0)
            else:
                forms.pop(0)
        gap = width - text.cell_len - right.cell_len
        if gap >= 1:
            text.append(" " * gap)
            text.append_text(right)
        else:
            text.truncate(max(0, width), overflow="ellipsis")
        return text
