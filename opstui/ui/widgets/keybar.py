"""The one-line key bar at the bottom of every screen: never clipped.

Built from the screen's active bindings (so it cannot drift from them).  When the line
is too narrow, bindings are dropped by priority (the focused widget's first, then the
screen's in declared order, then the app's; help and the palette stay longest) instead
of being cut mid-word.  A click on a key runs its action.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widget import Widget

#: Actions kept when everything else has to go (the way to find the rest).
KEEP = ("help", "command_palette")


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, Any]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Any) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def entries(self) -> list[tuple[str, str, str, Any]]:
        """(key shown, description, action, namespace) of every shown binding, one per
        action, most important first."""
        out: list[tuple[str, str, str, Any]] = []
        seen: set[str] = set()
        app: Any = self.app
        active = list(self.screen.active_bindings.values())
        kept: list[tuple[str, str, str, Any]] = []
        for node, binding, enabled, _tip in active:
            if not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            entry = (app.get_key_display(binding), binding.description, binding.action, node)
            if binding.action in KEEP:
                kept.append(entry)
            else:
                out.append(entry)
        palette = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        if palette and "command_palette" not in seen:
            kept.append(("^p", "palette", "app.command_palette", app))
        return out + kept

    def render(self) -> Text:
        width = self.size.width
        entries = self.entries()
        n_keep = sum(1 for e in entries if e[2].split(".")[-1] in KEEP)
        shown = list(entries)

        def line(items: list[tuple[str, str, str, Any]]) -> Text:
            text = Text(" ", end="", no_wrap=True)
            spans = []
            for key, desc, action, node in items:
                if text.cell_len > 1:
                    text.append("  ")
                start = text.cell_len
                text.append(key, style="bold")
                text.append(f" {desc}")
                spans.append((start, text.cell_len, action, node))
            self._spans = spans
            return text

        text = line(shown)
        while text.cell_len > width and len(shown) > n_keep:
            # drop the least important binding that is not kept
            drop = max(i for i, e in enumerate(shown) if e[2].split(".")[-1] not in KEEP)
            del shown[drop]
            text = line(shown)
        if text.cell_len > width:
            text.truncate(width)
        return text

    async def _on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                event.stop()
                await self.app.run_action(action, node)
                return
