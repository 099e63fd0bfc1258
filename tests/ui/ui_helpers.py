"""Helpers shared by the UI tests."""

from __future__ import annotations


async def settle(pilot, app) -> None:
    """Let workers finish and their messages be handled."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def static_text(widget) -> str:
    """The plain text a Static shows (its content rendered without colour)."""
    from rich.console import Console

    console = Console(width=200, color_system=None, legacy_windows=False)
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()
