"""``opstui serve``: the dashboard in browsers, one app process per tab."""

from __future__ import annotations

import sys

import click

from ..web.session import VIEWS, SessionCommand, is_loopback, new_token
from .common import AppState, fail, pass_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--read-only/--allow-edit",
    "read_only",
    default=True,
    show_default=True,
    help="Refuse every change made from a browser (the default), or allow changes.",
)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="dashboard",
    show_default=True,
    help="What each browser tab opens on.",
)
@click.option(
    "--token",
    envvar="OPSTUI_SERVE_TOKEN",
    metavar="TEXT",
    help="Required in the page address (?token=...). Generated and printed once when "
    "--host is not a loopback address and none is given. Env: OPSTUI_SERVE_TOKEN.",
)
@click.option(
    "--max-sessions",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Browser tabs (app processes) served at once; more get 503.",
)
@pass_state
def serve(
    state: AppState,
    host: str,
    port: int,
    read_only: bool,
    view: str,
    token: str | None,
    max_sessions: int,
) -> None:
    """Serve the dashboard to browsers (each tab runs its own opstui on this database).

    Read-only unless --allow-edit. Changes made from a browser are recorded as the Unix
    user running this server plus the name given in the address (?as=alice).
    """
    if state.read_only and not read_only:
        fail("--allow-edit cannot be used with --read-only")
    if token is not None and not token.strip():
        fail("--token must not be empty")
    db = state.open(create=False)  # refuse a missing or unusable file before listening
    path = db.path
    db.dispose()
    try:
        from ..web.server import OpsServer
    except ImportError as exc:
        fail(f"serving needs textual-serve and aiohttp ({exc}); pip install textual-serve")
    printed = None
    if token is None and not is_loopback(host):
        token = printed = new_token()
    command = SessionCommand(path, view=view, allow_edit=not read_only)
    if host in ("0.0.0.0", "::", ""):  # every address: name this machine in the link
        import socket

        shown = socket.gethostname()
    else:
        shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"

    def ready() -> None:
        mode = "read-only" if read_only else "changes allowed"
        click.echo(f"opstui: serving {path.name} ({view}, {mode}) on {url}")
        if printed:
            click.echo(f"opstui: token (shown once): {printed}")
            click.echo(f"opstui: open {url}?token={printed}&as=YOUR-NAME")
        elif token:
            click.echo(f"opstui: open {url}?token=...&as=YOUR-NAME")
        click.echo(f"opstui: at most {max_sessions} browser sessions at once; Ctrl+C stops")
        sys.stdout.flush()  # the token line must not wait in a pipe's buffer

    server = OpsServer(
        command.for_user,
        host=host,
        port=port,
        title=f"opstui · {path.name}",
        token=token,
        max_sessions=max_sessions,
        on_ready=ready,
    )
    try:
        server.serve()
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


COMMANDS = [serve]
