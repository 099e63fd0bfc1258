"""The command palette: every action of the current screen plus the app-wide ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: (name, help, callback)
PaletteCommand = tuple[str, str, Callable[[], Any]]


def app_commands(app: Any) -> list[PaletteCommand]:
    from ..store.queries import ItemFilter

    return [
        (
            "Items: all open items",
            "list every open item",
            partial(app.open_items, ItemFilter(open_only=True)),
        ),
        (
            "Items: all items",
            "list every item, done ones too",
            partial(app.open_items, ItemFilter()),
        ),
        (
            "Items: unowned",
            "open items nobody owns",
            partial(app.open_items, ItemFilter(owner="-", open_only=True)),
        ),
        (
            "Items: breached SLA",
            "open items past due",
            partial(app.open_items, ItemFilter(sla_state="breached")),
        ),
        (
            "Items: search",
            "find items by key or title",
            partial(app.open_items, ItemFilter(), search=True),
        ),
        ("New item", "create an item (n)", partial(app.item_action, "new", None)),
        (
            "Processes: catalog",
            "recurring processes, owners, next runs, findings (p)",
            app.open_processes,
        ),
        ("Wall view", "big-screen layout that cycles by itself (W)", app.action_wall),
        ("Toggle compact layout", "one line per queue and person (z)", app.action_toggle_compact),
        ("Reload", "read everything again (ctrl+r)", app.action_reload),
        ("Help", "keys and what the panes mean (?)", app.action_help),
        ("Quit", "leave opstui (q)", app.exit),
    ]


class OpsCommands(Provider):
    """Commands from the current screen (its ``palette_commands``) and the app."""

    def _commands(self) -> list[PaletteCommand]:
        commands: list[PaletteCommand] = []
        screen = self.screen
        hook = getattr(screen, "palette_commands", None)
        if hook is not None:
            commands.extend(hook())
        seen = {name for name, _, _ in commands}
        commands.extend(c for c in app_commands(self.app) if c[0] not in seen)
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
