"""The keys of a screen as commands: one list the palette and the help screen share."""

from __future__ import annotations

from typing import Any

#: Cursor and scroll keys: listed once in the help screen, not as commands.
NAVIGATION = {
    "cursor_down",
    "cursor_up",
    "page_down",
    "page_up",
    "first",
    "last",
    "scroll('down')",
    "scroll('up')",
    "app.focus_next",
    "app.focus_previous",
    "command_palette",
}


def screen_bindings(screen: Any) -> list[tuple[str, str, str, Any]]:
    """Every binding of ``screen`` (its focused widget, the screen, the app) with a
    description: (keys, description, action, namespace), one entry per action, keys of
    the same action joined.  The palette and the help screen are both built from this,
    so neither can drift from the keys."""
    app = screen.app
    entries: dict[str, list[Any]] = {}
    for namespace, bindings in screen._modal_binding_chain:
        widget = namespace is not screen and namespace is not app
        for _key, binding in bindings:
            if not binding.description or binding.action in NAVIGATION:
                continue
            if widget and binding.action != "select":
                continue  # a widget's own scroll and cursor keys are not commands
            if app._check_action_state(binding.action, namespace) is False:
                continue
            action = binding.action
            shown = app.get_key_display(binding)
            if action in entries:
                if entries[action][3] is namespace and shown not in entries[action][0]:
                    entries[action][0].append(shown)
                continue
            entries[action] = [[shown], binding.description, action, namespace]
    return [(", ".join(keys), desc, action, ns) for keys, desc, action, ns in entries.values()]
