"""The command palette: every action of the current screen plus the app-wide ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .bindings import screen_bindings

#: (name, help, callback)
PaletteCommand = tuple[str, str, Callable[[], Any]]


def binding_commands(screen: Any) -> list[PaletteCommand]:
    app = screen.app
    return [
        (desc, f"key: {keys}", partial(app.run_action, action, namespace))
        for keys, desc, action, namespace in screen_bindings(screen)
    ]


def view_filter(view: Any, me: str | None) -> Any:
    """The ItemFilter of a saved view (``owner = "me"``: whoever runs opstui)."""
    from ..store.queries import ItemFilter

    f = dict(view.filter)
    owner = f.get("owner")
    if owner == "me":
        owner = me or "\x00nobody"
    elif owner in ("none", "unowned"):
        owner = "-"
    prio = f.get("priority")
    if prio is not None:
        from ..domain.fields import parse_priority

        prio = parse_priority(prio)
    return ItemFilter(
        queue=f.get("queue"),
        owner=owner,
        status=f.get("status"),
        priority=prio,
        kind=f.get("kind"),
        text=f.get("text"),
        open_only=bool(f.get("open", True)),
        sla_state=f.get("sla"),
    )


def open_view(app: Any, view: Any) -> None:
    from ..errors import OpsError
    from .screens.items import ItemListScreen

    try:
        flt = view_filter(view, app.my_handle)
    except OpsError as exc:
        app.notify(f"view {view.name!r}: {exc}", severity="error", markup=False)
        return
    app.push_screen(ItemListScreen(flt, sort=view.sort, title=view.name))


def views_picker(app: Any) -> None:
    """Pick one of the saved views (config ``[[views]]``) or the built-in lists."""
    from .screens.picker import Candidate, PickerScreen

    views = {v.name: v for v in app.config.views}
    cands = [
        Candidate(
            v.name,
            v.name,
            " ".join(f"{k}={val}" for k, val in v.filter) or "all open",
            tag=f"sort {v.sort}",
            group="saved views (config [[views]])",
        )
        for v in views.values()
    ]
    builtin = [
        ("\x00mine", "my work", "my open items, most urgent first"),
        ("\x00unowned", "unowned", "open items nobody owns"),
        ("\x00breached", "breached", "open items past an SLA target"),
        ("\x00open", "all open", "every open item"),
    ]
    cands += [Candidate(v, label, detail, group="built in") for v, label, detail in builtin]

    def done(value: str | None) -> None:
        from ..store.queries import ItemFilter

        if value is None:
            return
        if value in views:
            open_view(app, views[value])
        elif value == "\x00mine":
            app.open_my_work()
        elif value == "\x00unowned":
            app.open_items(ItemFilter(owner="-", open_only=True))
        elif value == "\x00breached":
            app.open_items(ItemFilter(sla_state="breached"))
        else:
            app.open_items(ItemFilter(open_only=True))

    app.push_screen(PickerScreen("Views", cands, verb="opens"), done)


def app_commands(app: Any) -> list[PaletteCommand]:
    from ..store.queries import ItemFilter

    views: list[PaletteCommand] = [
        (f"View: {v.name}", f"saved view, sorted by {v.sort}", partial(open_view, app, v))
        for v in app.config.views
    ]
    return views + [
        ("Views…", "saved views and the built-in lists", partial(views_picker, app)),
        ("Items: my work", "my open items, most urgent first", app.open_my_work),
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
            "Items: drifting",
            "open items the forecast says will miss their date",
            partial(app.open_items, ItemFilter(drifting=True)),
        ),
        (
            "Items: search",
            "find items by key or title",
            partial(app.open_items, ItemFilter(), search=True),
        ),
        ("Processes: catalog", "recurring processes, owners, next runs", app.open_processes),
        ("Review: weekly", "the weekly review", app.open_review),
        ("Toggle compact layout", "one line per queue and person", app.action_toggle_compact),
        ("Reload", "read everything again", app.action_reload),
    ]


class OpsCommands(Provider):
    """The current screen's bindings (generated, see :func:`screen_bindings`), then the
    app's commands that have no key; one entry per command."""

    def _commands(self) -> list[PaletteCommand]:
        screen = self.screen
        commands = binding_commands(screen)
        seen = {name.lower() for name, _, _ in commands}
        actions = {a for _, _, a, _ in screen_bindings(screen)}
        aliases = {
            "app.my_work": "items: my work",
            "app.views": "views…",
            "processes": "processes: catalog",
            "review": "review: weekly",
            "app.toggle_compact": "toggle compact layout",
            "reload": "reload",
        }
        seen |= {aliases[a] for a in actions if a in aliases}
        for cmd in app_commands(self.app):
            if cmd[0].lower() not in seen:
                seen.add(cmd[0].lower())
                commands.append(cmd)
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(f"{name} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
