"""Opening the dashboard from the command line."""

from __future__ import annotations

from .common import AppState


def open_dashboard(state: AppState) -> None:
    db = state.open(create=False, live=True)
    from ..ui.app import run_app

    run_app(db, state.config, poll=state.poll, config_error=state.config_error)
