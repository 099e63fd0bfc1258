"""Outbox commands: hooks ls|add|rm, outbox ls|show|retry|purge, deliver."""

from __future__ import annotations

import signal
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from ..domain import hooks as dh
from ..domain.text import one_line
from ..errors import OpsError, ReadOnlyError
from .common import AppState, emit_json, fail, opstui_group, pass_state, render_table


def _writable(state: AppState) -> Any:
    db = state.open()
    if db.readonly:
        raise ReadOnlyError("the database is open read-only: nothing was changed")
    return db


@opstui_group("hooks")
def hooks_cmd() -> None:
    """Rules that tell other tools about changes (an HTTP POST or a command)."""


@hooks_cmd.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def hooks_ls(state: AppState, as_json: bool) -> None:
    """List the hooks (secrets are never shown; URL credentials are masked)."""
    from ..services import outbox as svc

    rows = svc.list_hooks(state.open())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no hooks (add one with 'opstui hooks add' or [[hooks]] in a load file)")
        return
    click.echo(
        render_table(
            ("NAME", "ON", "WHEN", "TARGET", "SIGNED", "TRIES", "ACTIVE"),
            [
                (
                    r["name"],
                    r["on"],
                    " ".join(f"{k}={r[k]}" for k in ("queue", "state", "priority") if r[k])
                    or "any",
                    r["target"],
                    "yes" if r["signed"] else "no",
                    r["max_attempts"],
                    "yes" if r["active"] else "no",
                )
                for r in rows
            ],
            flex=3,
        )
    )


def _read_secret(path: str) -> str:
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
        text = p.read_text().strip()
    except OSError as exc:
        raise OpsError(f"cannot read secret file {p.name}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OpsError(
            f"{p.name} holds a secret but other users can read it; run 'chmod 600 {p.name}'"
        )
    return text


@hooks_cmd.command("add")
@click.argument("name")
@click.option("--on", "on", required=True, type=click.Choice(dh.EVENTS), help="What to tell.")
@click.option("--queue", help="Only items in this queue.")
@click.option("--state", "state_name", help="Only items in (or moving to) this state.")
@click.option("--priority", help="Only items of this priority (P1..P4).")
@click.option("--url", help="POST the JSON body to this URL.")
@click.option(
    "--secret-file",
    metavar="PATH",
    help="Sign with the secret in this file (mode 600); never on the command line.",
)
@click.option("--timeout", type=float, default=10.0, show_default=True)
@click.option("--max-attempts", type=int, default=8, show_default=True)
@click.argument("command", nargs=-1)
@pass_state
def hooks_add(
    state: AppState,
    name: str,
    on: str,
    queue: str | None,
    state_name: str | None,
    priority: str | None,
    url: str | None,
    secret_file: str | None,
    timeout: float,
    max_attempts: int,
    command: tuple[str, ...],
) -> None:
    """Add (or replace) hook NAME: --url URL, or a command after -- that gets the JSON
    on stdin (run without a shell), e.g. `opstui hooks add tell --on created -- notify.sh`."""
    from ..services import outbox as svc

    entry: dict[str, Any] = {
        "name": name,
        "on": on,
        "timeout": timeout,
        "max_attempts": max_attempts,
    }
    for key, value in (("queue", queue), ("state", state_name), ("priority", priority)):
        if value is not None:
            entry[key] = value
    if url is not None:
        entry["url"] = url
    if command:
        entry["command"] = list(command)
    if secret_file:
        entry["secret"] = _read_secret(secret_file)
    created = svc.add_hook(_writable(state), entry)
    click.echo(f"{'added' if created else 'replaced'} hook {name} (on {on})")


@hooks_cmd.command("rm")
@click.argument("name")
@pass_state
def hooks_rm(state: AppState, name: str) -> None:
    """Remove a hook; its undelivered messages become dead letters."""
    from ..services import outbox as svc

    n = svc.remove_hook(_writable(state), name)
    extra = f"; {n} undelivered message{'s' if n != 1 else ''} marked dead" if n else ""
    click.echo(f"removed hook {name}{extra}")


@opstui_group("outbox")
def outbox_cmd() -> None:
    """What the hooks have to send: pending, delivered and dead deliveries."""


@outbox_cmd.command("ls")
@click.option(
    "--status", type=click.Choice((*dh.STATUSES, "failing")), help="Only deliveries in this state."
)
@click.option("--hook", help="Only this hook's deliveries.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def outbox_ls(
    state: AppState, status: str | None, hook: str | None, limit: int, as_json: bool
) -> None:
    """List deliveries, newest first."""
    from ..services import outbox as svc

    db = state.open()
    rows = svc.list_deliveries(db, status=status, hook=hook, limit=limit)
    if as_json:
        emit_json(rows)
        return
    summary = svc.failing_summary(db)
    if summary.count:
        click.echo(summary.line())
    if not rows:
        click.echo("the outbox is empty" if not status else f"no {status} deliveries")
        return
    click.echo(
        render_table(
            ("N", "ID", "HOOK", "EVENT", "ITEM", "STATUS", "TRIES", "LAST ERROR"),
            [
                (
                    r["n"],
                    r["id"][:8],
                    r["hook"],
                    r["event"],
                    r["item"] or "-",
                    r["status"],
                    r["attempts"],
                    r["last_error"] or "",
                )
                for r in rows
            ],
        )
    )


@outbox_cmd.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def outbox_show(state: AppState, ref: str, as_json: bool) -> None:
    """One delivery: its state and the JSON body (REF: its number or delivery id)."""
    from ..services import outbox as svc

    row = svc.show_delivery(state.open(), ref)
    if as_json:
        emit_json(row)
        return
    for key in (
        "n",
        "id",
        "hook",
        "event",
        "item",
        "status",
        "attempts",
        "created_at",
        "next_at",
        "delivered_at",
        "failing_since",
        "last_error",
        "lease_owner",
        "lease_until",
    ):
        if row.get(key) not in (None, ""):
            click.echo(f"{key:14} {one_line(str(row[key]))}")
    click.echo("payload")
    emit_json(row["payload"])


@outbox_cmd.command("retry")
@click.argument("refs", nargs=-1)
@click.option("--dead", is_flag=True, help="Every dead letter.")
@pass_state
def outbox_retry(state: AppState, refs: tuple[str, ...], dead: bool) -> None:
    """Send deliveries again now, with their attempts counted from zero."""
    from ..services import outbox as svc

    if not refs and not dead:
        fail("name deliveries to retry (their numbers or ids), or give --dead", 2)
    n = svc.retry_deliveries(_writable(state), list(refs), dead=dead)
    click.echo(f"{n} deliver{'y' if n == 1 else 'ies'} queued to send again")


@outbox_cmd.command("purge")
@click.option("--older-than", "days", type=int, default=7, show_default=True, metavar="DAYS")
@click.option("--dead", is_flag=True, help="Dead letters too (not only delivered ones).")
@pass_state
def outbox_purge(state: AppState, days: int, dead: bool) -> None:
    """Delete delivered (and with --dead, dead) deliveries older than DAYS."""
    from ..services import outbox as svc

    n = svc.purge_deliveries(_writable(state), older_than=timedelta(days=days), dead=dead)
    click.echo(f"purged {n} deliver{'y' if n == 1 else 'ies'}")


@click.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now and exit (for cron).")
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between looks."
)
@pass_state
def deliver_cmd(state: AppState, once: bool, interval: float) -> None:
    """Send the outbox: at least once, retrying with backoff, one deliverer at a time.

    Run it from cron with --once, or as a service (systemd) without.  Open dashboards
    deliver too; whichever holds the deliverer lease sends, the others wait.
    """
    from ..services import outbox as svc

    db = _writable(state)
    me = svc.owner_id()
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            report = svc.deliver(db, me, stop=stop)
            if not report.elected and once:
                click.echo(f"another deliverer is sending ({report.holder}); nothing sent")
                return
            if report.sent or report.failed or once:
                click.echo(f"sent {report.sent}, failed {report.failed}")
                for error in report.errors[:5]:
                    click.echo(f"  {one_line(error)}", err=True)
            if once or stop.wait(interval):
                break
    except KeyboardInterrupt:
        pass
    finally:
        try:
            svc.resign(db, me)
        except OpsError:
            pass


COMMANDS = [hooks_cmd, outbox_cmd, deliver_cmd]
