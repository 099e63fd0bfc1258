"""Automation commands: run-due, processes, approvals (approve / reject)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from ..domain.actions import describe_action
from ..domain.text import one_line, strip_controls
from ..errors import ReadOnlyError
from .common import AppState, age, emit_json, pass_state, render_table

if TYPE_CHECKING:
    from ..services.processes import catalog


def _when(value: datetime | None, tz: str = "UTC", short: bool = False) -> str:
    """A time in the process's zone (``short`` leaves the zone name out)."""
    if value is None:
        return "-"
    try:
        local = value.astimezone(ZoneInfo(tz))
    except Exception:
        local = value
    return local.strftime("%Y-%m-%d %H:%M" if short else "%Y-%m-%d %H:%M %Z")


@click.command("run-due")
@click.option("--dry-run", is_flag=True, help="Show what is due without creating anything.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def run_due_cmd(state: AppState, dry_run: bool, as_json: bool) -> None:
    """Create the items of processes that are due (run it from cron; --now works).

    Each occurrence is created exactly once, however many terminals or cron jobs run at
    the same moment.  Only the latest missed occurrence of each schedule is created.
    """
    from ..services.processes import run as svc

    db = state.open()
    if db.readonly and not dry_run:
        raise ReadOnlyError("the database is open read-only: no process was run")
    if db.readonly:
        done = [
            svc.ProcessRunResult(
                process="",
                name="",
                occurrence_key=okey,
                occurrence_at=at,
                item=None,
                owner=None,
                queue="",
                text=f"would run {okey}",
            )
            for _pid, okey, at in svc.due_occurrences(db)
        ]
    else:
        done = svc.run_due(db, dry_run=dry_run)
    if as_json:
        emit_json(
            [
                {
                    "process": r.process,
                    "occurrence": r.occurrence_key,
                    "occurrence_at": r.occurrence_at.isoformat(),
                    "item": None if dry_run else r.item,
                    "owner": r.owner,
                    "queue": r.queue,
                    "text": r.text,
                    "dry_run": dry_run,
                }
                for r in done
            ]
        )
        return
    if not done:
        click.echo(f"nothing due at {db.clock.now():%Y-%m-%d %H:%M} UTC")
        return
    for r in done:
        click.echo(f"{one_line(r.text)} (occurrence {r.occurrence_at:%Y-%m-%d %H:%M} UTC)")


@click.command("processes")
@click.option("-v", "--verbose", is_flag=True, help="Each process in full, with its runbook.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def processes_cmd(state: AppState, verbose: bool, as_json: bool) -> None:
    """The process catalog: trigger, owner, next and last run, runbook, findings."""
    from ..services.processes import catalog as svc

    db = state.open()
    cat = svc.process_catalog(db, db.clock.now())
    if as_json:
        emit_json(svc.catalog_json(cat))
        return
    if not cat.processes:
        click.echo("no processes (define them under [[processes]] and 'opstui load' the file)")
        return
    if verbose:
        for p in cat.processes:
            click.echo(f"{p.key}  {one_line(p.name)}{'' if p.active else '  (inactive)'}")
            click.echo(f"  owner     {_owner(p)}")
            click.echo(f"  trigger   {one_line(p.trigger_text)}")
            click.echo(
                f"  queue     {p.queue or '-'}   skills {', '.join(p.skills) or '-'}"
                f"   able {', '.join(p.able) or '-'}"
            )
            click.echo(f"  next run  {_next(p)}")
            last = _when(p.last_run, p.timezone)
            if p.last_item:
                last += f" ({p.last_item}, {p.runs} run{'s' if p.runs != 1 else ''})"
            click.echo(f"  last run  {last}")
            click.echo("  runbook" + ("" if p.steps else "   (none)"))
            for n, step in enumerate(p.steps, 1):
                click.echo(f"    {n}. {one_line(step)}")
            for f in p.findings:
                click.echo(f"  ! {one_line(f)}")
            click.echo("")
    else:
        rows = [
            (
                p.key,
                _owner(p),
                _next(p),
                _when(p.last_run, p.timezone, short=True)
                + (f" {p.last_item}" if p.last_item else ""),
                str(len(p.steps)),
                p.trigger_text,
            )
            for p in cat.processes
        ]
        click.echo(
            render_table(("PROCESS", "OWNER", "NEXT RUN", "LAST RUN", "STEPS", "TRIGGER"), rows)
        )
    if cat.findings:
        click.echo(("" if verbose else "\n") + "Findings")
        for f in cat.findings:
            click.echo(f"  ! {one_line(f.text)}")
    else:
        click.echo("\nNo findings: every process has an owner, a trigger and a runbook.")


def _owner(p: catalog.ProcessInfo) -> str:
    owner = p.owner or "(no owner)"
    if p.owner_status in ("away", "inactive"):
        owner += f" ({p.owner_status})"
    return owner


def _next(p: catalog.ProcessInfo) -> str:
    if p.trigger_kind == "event":
        return "on event"
    if not p.trigger_kind:
        return "never"
    due = " DUE NOW" if p.due_now else ""
    return _when(p.next_run, p.timezone, short=True) + due


@click.command("approvals")
@click.option("--all", "show_all", is_flag=True, help="Include decided approvals.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def approvals_cmd(state: AppState, show_all: bool, as_json: bool) -> None:
    """Moves waiting for approval (approve with 'opstui approve KEY')."""
    from ..services import approvals as svc

    db = state.open()
    rows = svc.list_approvals(db, status=None if show_all else "pending")
    if as_json:
        emit_json(
            [
                {
                    "item": a.item_key,
                    "title": a.item_title,
                    "status": a.status,
                    "from_state": a.item_status,
                    "to_state": a.to_state,
                    "requested_by": a.requested_by,
                    "requested_at": a.requested_at.isoformat(),
                    "decided_by": a.decided_by,
                    "decided_at": a.decided_at.isoformat() if a.decided_at else None,
                    "note": a.note,
                }
                for a in rows
            ]
        )
        return
    if not rows:
        click.echo("no approvals waiting" if not show_all else "no approvals")
        return
    now = db.clock.now()
    click.echo(
        render_table(
            ("ITEM", "STATUS", "MOVE", "ASKED BY", "AGE", "TITLE"),
            [
                (
                    a.item_key,
                    a.status,
                    f"{a.item_status} -> {a.to_state}",
                    a.requested_by,
                    age(now, a.requested_at),
                    a.item_title,
                )
                for a in rows
            ],
        )
    )


@click.command("approve")
@click.argument("key")
@click.option("-m", "--note", default="", help="Why (kept with the approval).")
@click.option("--dry-run", is_flag=True, help="Show what approving would do, change nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def approve_cmd(state: AppState, key: str, note: str, dry_run: bool, as_json: bool) -> None:
    """Approve KEY's pending move and apply it (running its actions)."""
    from ..services import approvals as svc
    from ..services.serialize import item_json

    db = state.open()
    item, done = svc.approve(db, key, note, dry_run=dry_run)
    if as_json:
        data = item_json(item, db.clock.now())
        data["actions"] = done
        data["dry_run"] = dry_run
        emit_json(data)
        return
    for action in done:
        click.echo(strip_controls(describe_action(action)))


@click.command("reject")
@click.argument("key")
@click.option("-m", "--note", default="", help="Why (kept with the approval).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def reject_cmd(state: AppState, key: str, note: str, as_json: bool) -> None:
    """Reject KEY's pending move: the item stays where it is."""
    from ..services import approvals as svc
    from ..services.serialize import item_json

    db = state.open()
    item = svc.reject(db, key, note)
    if as_json:
        emit_json(item_json(item, db.clock.now()))
        return
    click.echo(f"rejected: {item.key} stays {item.status}")


COMMANDS = [run_due_cmd, processes_cmd, approvals_cmd, approve_cmd, reject_cmd]
