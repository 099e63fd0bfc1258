"""Item commands: add, ls, show, mv, assign, comment, edit, block."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import click

from ..domain.fields import parse_priority
from ..domain.text import strip_controls
from .common import AppState, age, emit_json, pass_state, render_table, width_option


def source_lines(item: Any) -> list[str]:
    """Where an imported item came from, and the source fields it keeps."""
    src = (item.data or {}).get("source")
    if not src:
        return []
    s = strip_controls
    lines = [f"  source {s(str(src.get('system', '')))} {s(str(src.get('key', '')))}"]
    for name, value in (src.get("fields") or {}).items():
        lines.append(f"    {s(str(name))}: {s(str(value))}")
    for name, value in (src.get("facts") or {}).items():
        lines.append(f"    {s(str(name))} (source fact): {s(str(value))}")
    return lines


def _priority(value: str | None) -> int | None:
    return parse_priority(value) if value else None


def check_known(what: str, value: str | None, known: list[str]) -> None:
    """Refuse a filter value nothing can match: name the close ones, or the known ones."""
    if value is None or value in known:
        return
    import difflib

    from ..errors import ValidationError

    close = difflib.get_close_matches(value.lower(), known, n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        shown = ", ".join(known[:20]) + (f", … ({len(known)} in all)" if len(known) > 20 else "")
        hint = f"known: {shown or 'none yet'}"
    raise ValidationError(f"unknown {what} {value!r}: {hint}")


def check_filter(reader: Any, flt: Any) -> None:
    """Every queue, owner and status in an item filter must exist (``reader``: a
    store.lite reader, light or full)."""
    from ..store import lite

    if isinstance(reader, lite.LiteReader):

        def column(sql: str) -> list[str]:
            return [r[0] for r in reader.conn.execute(sql)]
    else:
        from sqlalchemy import text

        def column(sql: str) -> list[str]:
            return [r[0] for r in reader.conn.execute(text(sql))]

    if flt.queue is not None:
        check_known("queue", flt.queue, column("SELECT slug FROM queue ORDER BY id"))
    if flt.owner not in (None, "-"):
        people = column("SELECT handle FROM person ORDER BY handle")
        check_known("owner", flt.owner, people + ["none"])
    if flt.status is not None:
        check_known(
            "status", flt.status, column("SELECT DISTINCT name FROM workflow_state ORDER BY name")
        )


def versioned(call: Any, key: str, if_version: int | None) -> Any:
    """Run a versioned change; a ``--if-version`` newer than the item is said plainly."""
    from ..errors import Conflict

    try:
        return call()
    except Conflict as exc:
        if if_version is not None and exc.current_version and if_version > exc.current_version:
            raise Conflict(
                f"{exc.key or key.upper()} is at version {exc.current_version}: "
                f"--if-version {if_version} is newer than the item has ever been "
                "(a typo?); nothing was changed",
                key=exc.key,
                current_version=exc.current_version,
            ) from None
        raise


@click.command("add")
@click.option("-q", "--queue", required=True, help="Queue slug (see 'opstui queues ls').")
@click.option("-t", "--title", required=True)
@click.option("-b", "--body", default="", help="Description ('-' reads standard input).")
@click.option("-k", "--kind", default="task", show_default=True)
@click.option("-p", "--priority", default="P3", show_default=True, help="P1..P4")
@click.option("-o", "--owner", default=None, help="Person handle (default: unowned).")
@click.option("-e", "--estimate", default=None, help="Hours, e.g. 2 or 1.5h.")
@click.option("--requester", default="", help="Who asked (default: you).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def add_cmd(
    state: AppState,
    queue: str,
    title: str,
    body: str,
    kind: str,
    priority: str,
    owner: str | None,
    estimate: str | None,
    requester: str,
    as_json: bool,
) -> None:
    """Create an item."""
    from ..services import items as svc
    from ..services.serialize import item_json

    if body == "-":
        body = click.get_text_stream("stdin").read()
    db = state.open()
    item = svc.create_item(
        db,
        queue=queue,
        title=title,
        body=body,
        kind=kind,
        priority=priority,
        owner=owner,
        estimate=estimate,
        requester=requester,
    )
    if as_json:
        emit_json(item_json(item, db.clock.now()))
    else:
        click.echo(
            f"{item.key}  {strip_controls(item.title)}  ({item.queue}, {item.owner or 'unowned'})"
        )


@click.command("ls")
@click.option("-q", "--queue", default=None)
@click.option("-o", "--owner", default=None, help="Handle, or '-' / 'none' for unowned.")
@click.option("-s", "--status", default=None)
@click.option("-p", "--priority", default=None, help="P1..P4")
@click.option("-k", "--kind", default=None)
@click.option("--text", default=None, help="Match in title or key.")
@click.option("--open", "open_only", is_flag=True, help="Only items not done.")
@click.option(
    "--sla", "sla_state", type=click.Choice(["ok", "warning", "breached", "paused"]), default=None
)
@click.option("--drifting", is_flag=True, help="Only items the forecast says will miss their date.")
@click.option("-n", "--limit", default=None, type=click.IntRange(min=1), help="At most N items.")
@click.option("--json", "as_json", is_flag=True)
@width_option
@pass_state
def ls_cmd(
    state: AppState,
    queue: str | None,
    owner: str | None,
    status: str | None,
    priority: str | None,
    kind: str | None,
    text: str | None,
    open_only: bool,
    sla_state: str | None,
    drifting: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """List items, newest first."""
    from ..services.serialize import item_json
    from ..store.records import ItemFilter

    if owner in ("none", "unowned"):
        owner = "-"
    flt = ItemFilter(
        queue=queue,
        owner=owner,
        status=status,
        priority=_priority(priority),
        kind=kind,
        text=text,
        open_only=open_only,
        sla_state=sla_state,
        drifting=drifting,
    )
    if flt.queue:
        flt = replace(flt, queue=flt.queue.strip().lower())

    def read(r: Any, now: datetime) -> tuple[list[Any], datetime]:
        rows = r.list_items(flt, limit=limit, now=now)
        if not rows:  # nothing matched: a typo in a filter value says so, not "no items"
            check_filter(r, flt)
        return rows, now

    rows, now = state.read(read)
    if as_json:
        emit_json([item_json(i, now) for i in rows])
        return
    if not rows:
        click.echo(f"no items ({flt.describe()})")
        return
    table = [
        (
            i.key,
            i.priority_label,
            i.status,
            i.owner or "(unowned)",
            i.queue,
            "-" if i.estimate_hours is None else f"{i.estimate_hours:g}h",
            age(now, i.created_at),
            i.title,
        )
        for i in rows
    ]
    click.echo(render_table(("KEY", "P", "STATUS", "OWNER", "QUEUE", "EST", "AGE", "TITLE"), table))


@click.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def show_cmd(state: AppState, key: str, as_json: bool) -> None:
    """One item with its comments and history."""
    from ..services.serialize import item_json

    def read(r: Any, now: datetime) -> tuple[Any, ...]:
        item = r.get_item(key)
        if item is None:
            from ..errors import NotFound

            raise NotFound(f"no item {key.strip().upper()!r}")
        return (
            item,
            r.item_comments(item.id),
            r.recent_events(500, item.id),
            r.next_states_for_item(item.key),
            r.logged_seconds(item.id),
            now,
        )

    item, comments, history, nxt, logged, now = state.read(read)
    from ..domain.forecast import remaining_hours
    from ..domain.sla import format_remaining

    left, over = remaining_hours(
        item.estimate_hours, logged / 3600, floor=state.config.remaining_floor_hours
    )
    if as_json:
        data = item_json(item, now)
        data["body"] = item.body
        data["comments"] = [
            {
                "author": c.author,
                "unix_user": c.unix_user,
                "at": c.created_at.isoformat(),
                "body": c.body,
            }
            for c in comments
        ]
        data["history"] = [
            {
                "id": e.id,
                "at": e.ts.isoformat(),
                "by": e.person or e.unix_user,
                "field": e.field,
                "old": e.old,
                "new": e.new,
            }
            for e in history
        ]
        data["next_states"] = [t.to_state for t in nxt]
        data["logged_hours"] = round(logged / 3600, 2)
        data["remaining_hours"] = round(left, 2)
        data["over_estimate"] = over
        emit_json(data)
        return
    s = strip_controls
    lines = [
        f"{item.key}  {s(item.title)}",
        f"  queue {item.queue}   status {item.status}   priority {item.priority_label}   kind {s(item.kind)}",
        f"  owner {item.owner or '(unowned)'}   estimate {'-' if item.estimate_hours is None else f'{item.estimate_hours:g}h'}"
        f"   version {item.version}",
        f"  created {item.created_at:%Y-%m-%d %H:%M} UTC ({age(now, item.created_at)} ago)   requester {s(item.requester) or '-'}",
    ]
    if logged or item.estimate_hours is not None:
        lines.append(
            f"  logged {format_remaining(logged) if logged else '-'}   remaining "
            f"{format_remaining(left * 3600)}"
            + ("   over estimate" if over else "")
            + ("" if item.estimate_hours is not None else " (no estimate: the default counts)")
        )
    if item.first_response_at:
        lines.append(f"  first response {item.first_response_at:%Y-%m-%d %H:%M} UTC")
    if item.resolved_at:
        lines.append(f"  resolved {item.resolved_at:%Y-%m-%d %H:%M} UTC")
    from ..domain.item_sla import item_sla_lines

    lines.extend(item_sla_lines(item, now))
    lines.extend(source_lines(item))
    if nxt:
        lines.append(f"  next states: {', '.join(t.to_state for t in nxt)}")
    if item.body:
        lines.append("")
        lines.extend(
            "  " + strip_controls(line, single_line=False) for line in item.body.splitlines()
        )
    if comments:
        lines.append("\nComments")
        for c in comments:
            lines.append(
                f"  {c.created_at:%Y-%m-%d %H:%M} {c.author or c.unix_user}: {strip_controls(c.body)}"
            )
    lines.append("\nHistory")
    for e in history:
        change = f"{s(e.old or '-')} -> {s(e.new or '-')}" if e.old is not None else s(e.new or "")
        lines.append(f"  {e.ts:%Y-%m-%d %H:%M} {e.person or e.unix_user}: {e.field} {change}")
    click.echo("\n".join(lines))


@click.command("mv")
@click.argument("key")
@click.argument("state_name", metavar="STATE")
@click.option("--dry-run", is_flag=True, help="Show what the move would do, change nothing.")
@click.option(
    "--if-version", type=int, default=None, help="Refuse if the item changed since this version."
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def mv_cmd(
    state: AppState, key: str, state_name: str, dry_run: bool, if_version: int | None, as_json: bool
) -> None:
    """Move an item to another workflow state (runs the transition's actions)."""
    from ..services import transitions
    from ..services.serialize import item_json

    db = state.open()
    item, done = versioned(
        lambda: transitions.transition(
            db, key, state_name, expected_version=if_version, dry_run=dry_run
        ),
        key,
        if_version,
    )
    if as_json:
        data = item_json(item, db.clock.now())
        data["actions"] = done
        data["dry_run"] = dry_run
        emit_json(data)
        return
    from ..domain.actions import describe_action

    gated = any(a.get("type") == "approval" and a.get("status") == "pending" for a in done)
    if gated:
        click.echo(f"{item.key} stays {item.status}: the move to {state_name} needs an approval")
    elif dry_run:
        click.echo(f"dry run: would move {item.key} to {state_name} (nothing was changed)")
    else:
        click.echo(f"moved {item.key} to {item.status}")
    for action in done:
        click.echo(f"  {strip_controls(describe_action(action))}")


@click.command("assign")
@click.argument("key")
@click.argument("handle", required=False)
@click.option("--none", "unassign", is_flag=True, help="Make the item unowned.")
@click.option("--if-version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def assign_cmd(
    state: AppState,
    key: str,
    handle: str | None,
    unassign: bool,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Give an item to a person (or --none)."""
    from ..services import items as svc
    from ..services.serialize import item_json

    if bool(handle) == unassign:
        raise click.UsageError("give a HANDLE or --none (not both)")
    db = state.open()
    item = versioned(
        lambda: svc.assign(db, key, None if unassign else handle, expected_version=if_version),
        key,
        if_version,
    )
    if as_json:
        emit_json(item_json(item, db.clock.now()))
    else:
        click.echo(f"{item.key} -> {item.owner or '(unowned)'}")


@click.command("comment")
@click.argument("key")
@click.argument("text")
@pass_state
def comment_cmd(state: AppState, key: str, text: str) -> None:
    """Add a comment (TEXT '-' reads standard input)."""
    from ..services import items as svc

    if text == "-":
        text = click.get_text_stream("stdin").read()
    db = state.open()
    item = svc.comment(db, key, text)
    click.echo(f"commented on {item.key}")


@click.command("edit")
@click.argument("key")
@click.option("-t", "--title", default=None)
@click.option("-b", "--body", default=None)
@click.option("-k", "--kind", default=None)
@click.option("-p", "--priority", default=None)
@click.option("-e", "--estimate", default=None, help="Hours, or 'none'.")
@click.option("--if-version", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def edit_cmd(
    state: AppState,
    key: str,
    title: str | None,
    body: str | None,
    kind: str | None,
    priority: str | None,
    estimate: str | None,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Change title, body, kind, priority or estimate."""
    from ..services import items as svc
    from ..services.serialize import item_json

    fields = {
        k: v
        for k, v in dict(
            title=title, body=body, kind=kind, priority=priority, estimate=estimate
        ).items()
        if v is not None
    }
    if not fields:
        raise click.UsageError(
            "nothing to change: give --title, --body, --kind, --priority or --estimate"
        )
    db = state.open()
    item = versioned(
        lambda: svc.edit_item(db, key, expected_version=if_version, **fields), key, if_version
    )
    if as_json:
        emit_json(item_json(item, db.clock.now()))
    else:
        click.echo(f"{item.key} updated (v{item.version})")


@click.command("block")
@click.argument("key")
@click.argument("blocker")
@click.option("--remove", is_flag=True, help="Remove the link instead.")
@pass_state
def block_cmd(state: AppState, key: str, blocker: str, remove: bool) -> None:
    """Record that BLOCKER blocks KEY."""
    from ..services import items as svc

    db = state.open()
    item = svc.link_blocker(db, key, blocker, remove=remove)
    click.echo(f"{item.key} {'no longer ' if remove else ''}blocked by {blocker.upper()}")


COMMANDS = [add_cmd, ls_cmd, show_cmd, mv_cmd, assign_cmd, comment_cmd, edit_cmd, block_cmd]
