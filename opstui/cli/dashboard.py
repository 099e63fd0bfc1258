"""Opening the dashboard from the command line."""

from __future__ import annotations

from .common import AppState


def open_dashboard(state: AppState) -> None:
    db = state.open(create=False, live=True)
    from ..ui.app import run_app

    web = state.web_user is not None
    note = None
    if web and db.readonly:
        from ..web.session import READ_ONLY_NOTE

        note = READ_ONLY_NOTE
    if state.as_of is not None:
        note = db.readonly_note
    run_app(
        db,
        state.config,
        poll=state.poll,
        config_error=state.config_error,
        view=state.view,
        read_only_note=note,
        # a browser tab never rewrites the server user's remembered theme
        persist_theme=not web,
    )
