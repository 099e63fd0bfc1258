"""Setup and admin commands: init, demo, load, people, queues, events."""

from __future__ import annotations

import grp
import os
import stat
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..domain.text import one_line
from ..errors import StoreError
from .common import AppState, emit_json, opstui_group, pass_state, render_table

if TYPE_CHECKING:
    from ..store import queries as q


@click.command("init")
@click.option("--shared", is_flag=True, help="Make the file usable by a Unix group (on a server).")
@click.option("--group", default=None, help="Group for --shared (default: the directory's group).")
@pass_state
def init_cmd(state: AppState, shared: bool, group: str | None) -> None:
    """Create a database (or check an existing one)."""
    path = state.db_path
    if isinstance(path, str):
        _init_server(state, shared)
        return
    existed = path.exists() and path.stat().st_size > 0
    if shared:
        _prepare_shared_dir(path.parent, group)
        os.umask(0o002)
    db = state.open(create=True)
    if shared:
        _share_files(path, group)
    click.echo(f"{'opened existing' if existed else 'created'} {path}")
    if shared:
        click.echo(
            f"shared with group {grp.getgrgid(path.stat().st_gid).gr_name}: "
            "members can read and write it; changes are attributed to each Unix user"
        )
    db.dispose()


def _init_server(state: AppState, shared: bool) -> None:
    """``init`` for a database on a PostgreSQL server (it must exist: createdb makes it)."""
    if shared:
        raise StoreError(
            "--shared is for a database file; on PostgreSQL give each user a role with rights "
            "on the database (GRANT)"
        )
    try:
        db = state.open(create=False)
        verb = "opened existing"
    except StoreError as exc:
        if "no opstui schema yet" not in str(exc):
            raise
        state._db = None
        db = state.open(create=True)
        verb = "created"
    click.echo(f"{verb} {db.name}")
    db.dispose()


def _gid(group: str | None, fallback: int) -> int:
    if not group:
        return fallback
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise StoreError(f"no Unix group {group!r}") from None


def _prepare_shared_dir(directory: Path, group: str | None) -> None:
    if not directory.exists():
        directory.mkdir(parents=True)
    gid = _gid(group, directory.stat().st_gid)
    try:
        if directory.stat().st_gid != gid:
            os.chown(directory, -1, gid)
        mode = directory.stat().st_mode
        os.chmod(directory, mode | stat.S_ISGID | stat.S_IRWXG)
    except PermissionError:
        raise StoreError(
            f"cannot make {directory} a shared directory (need to own it): ask an admin to run "
            f"'chgrp TEAM {directory} && chmod g+rwxs {directory}'"
        ) from None


def _share_files(path: Path, group: str | None) -> None:
    gid = _gid(group, path.parent.stat().st_gid)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            try:
                os.chown(p, -1, gid)
                os.chmod(p, (p.stat().st_mode | stat.S_IRGRP | stat.S_IWGRP) & ~stat.S_IRWXO)
            except PermissionError:
                raise StoreError(f"cannot share {p}: you do not own it") from None


def sample_file() -> Path:
    from ..paths import sample_data_dir

    return sample_data_dir() / "shop.toml"


@click.command("demo")
@click.option(
    "--path",
    "demo_path",
    default=None,
    help="Where to put the demo database (default: a new temp dir).",
)
@click.option("--no-ui", is_flag=True, help="Create the demo database and print its path only.")
@pass_state
def demo_cmd(state: AppState, demo_path: str | None, no_ui: bool) -> None:
    """A fresh throwaway database from the sample data, then the dashboard."""
    from ..services import loading as loader
    from ..store.schema import open_database

    path = (
        Path(demo_path) if demo_path else Path(tempfile.mkdtemp(prefix="opstui-demo-")) / "demo.db"
    )
    if path.exists():
        raise StoreError(f"{path} exists already; the demo only writes a new file")
    clock = state.clock(live=True)
    db = open_database(path, create=True, clock=clock, me=state.config.me)
    anchor = loader.anchor_of(sample_file())
    shift = timedelta(0)
    if anchor is not None:
        shift = timedelta(minutes=int((clock.now() - anchor).total_seconds() // 60))
    report = loader.load_file(db, sample_file(), shift=shift)
    db.dispose()
    click.echo(f"demo database: {path} ({report.summary()})", err=not no_ui)
    if no_ui:
        click.echo(str(path))
        return
    state.db_flag = str(path)
    state._db = None
    from .dashboard import open_dashboard

    open_dashboard(state)
    click.echo(f"the demo database is still at {path}; delete it when done")


@click.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file without loading it.")
@pass_state
def load_cmd(state: AppState, file: Path, dry_run: bool) -> None:
    """Load people, queues, calendars, SLA policies, workflows, processes and items from TOML."""
    from ..services import loading as loader

    db = state.open(create=True)
    report = loader.load_file(db, file, dry_run=dry_run)
    click.echo(f"{'checked' if dry_run else 'loaded'} {file.name}: {report.summary()}")


# --- people --------------------------------------------------------------------------


@opstui_group("people")
def people_grp() -> None:
    """People: who owns work, their capacity, skills and time off."""


@people_grp.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def people_ls(state: AppState, as_json: bool) -> None:
    """List people with their load and capacity."""
    db = state.open()
    from ..services.capacity import people_overview

    rows = people_overview(db)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no people yet (add one with 'opstui people add HANDLE')")
        return
    click.echo(
        render_table(
            ("HANDLE", "NAME", "TEAM", "OPEN", "LOAD", "CAP", "UTIL", "SKILLS", "NOTE"),
            [
                (
                    r["handle"],
                    r["name"],
                    r["team"],
                    r["open_items"],
                    f"{r['load_hours']:g}h",
                    f"{r['capacity_hours']:g}h",
                    f"{r['utilisation']:.0%}" if r["utilisation"] is not None else "-",
                    ",".join(r["skills"]),
                    r["note"],
                )
                for r in rows
            ],
            flex=7,
        )
    )


@people_grp.command("add")
@click.argument("handle")
@click.option("--name", default="")
@click.option("--team", default="")
@click.option("--capacity", default="40", help="Hours per week.")
@click.option("--skills", default="", help="Comma-separated.")
@click.option("--login", default=None, help="Unix login if it differs from the handle.")
@click.option("--email", default="")
@pass_state
def people_add(
    state: AppState,
    handle: str,
    name: str,
    team: str,
    capacity: str,
    skills: str,
    login: str | None,
    email: str,
) -> None:
    """Add a person."""
    from ..services import people as people_svc

    db = state.open()
    p = people_svc.add_person(
        db,
        handle=handle,
        name=name,
        team=team,
        capacity=capacity,
        skills=skills,
        login=login,
        email=email,
    )
    click.echo(f"added {p.handle} ({one_line(p.name)})")


@people_grp.command("edit")
@click.argument("handle")
@click.option("--name", default=None)
@click.option("--team", default=None)
@click.option("--capacity", default=None)
@click.option("--skills", default=None, help="Comma-separated; replaces the list.")
@click.option("--login", default=None)
@click.option("--email", default=None)
@click.option("--active/--inactive", default=None)
@click.option(
    "--away",
    default=None,
    metavar="START[..END]",
    help="Add time off, e.g. 2026-12-22..2026-12-31.",
)
@pass_state
def people_edit(
    state: AppState,
    handle: str,
    name: str | None,
    team: str | None,
    capacity: str | None,
    skills: str | None,
    login: str | None,
    email: str | None,
    active: bool | None,
    away: str | None,
) -> None:
    """Change a person."""
    from ..services import people as people_svc

    period = None
    if away:
        start, _, end = away.partition("..")
        period = {"start": start, "end": end or start}
    db = state.open()
    p = people_svc.edit_person(
        db,
        handle,
        name=name,
        team=team,
        capacity=capacity,
        skills=skills,
        login=login,
        email=email,
        active=active,
        away=period,
    )
    click.echo(f"updated {p.handle}")


# --- queues --------------------------------------------------------------------------


@opstui_group("queues")
def queues_grp() -> None:
    """Queues: where work waits, who triages it, WIP limits."""


@queues_grp.command("ls")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def queues_ls(state: AppState, as_json: bool) -> None:
    """List queues."""
    from ..store import queries as q

    db = state.open()
    with db.read() as conn:
        rows = q.list_queues(conn)
        counts = {
            r.slug: q.count_items(conn, q.ItemFilter(queue=r.slug, open_only=True)) for r in rows
        }
    if as_json:
        emit_json(
            [
                {
                    "slug": r.slug,
                    "name": r.name,
                    "prefix": r.prefix,
                    "workflow": r.workflow,
                    "triage_owner": r.triage_owner,
                    "wip_limit": r.wip_limit,
                    "open": counts[r.slug],
                }
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo("no queues yet (add one with 'opstui queues add SLUG')")
        return
    click.echo(
        render_table(
            ("QUEUE", "NAME", "PREFIX", "WORKFLOW", "TRIAGE", "WIP", "OPEN"),
            [
                (
                    r.slug,
                    r.name,
                    r.prefix,
                    r.workflow,
                    r.triage_owner or "-",
                    r.wip_limit or "-",
                    counts[r.slug],
                )
                for r in rows
            ],
            flex=1,
        )
    )


@queues_grp.command("add")
@click.argument("slug")
@click.option("--name", default="")
@click.option("--prefix", default=None, help="Item key prefix (default: from the slug).")
@click.option("--workflow", default="default", show_default=True)
@click.option("--triage", "triage_owner", default=None, help="Triage owner's handle.")
@click.option("--wip", "wip_limit", default=None, type=int, help="WIP limit.")
@pass_state
def queues_add(
    state: AppState,
    slug: str,
    name: str,
    prefix: str | None,
    workflow: str,
    triage_owner: str | None,
    wip_limit: int | None,
) -> None:
    """Add a queue."""
    from ..services import people as people_svc

    db = state.open()
    r = people_svc.add_queue(
        db,
        slug=slug,
        name=name,
        prefix=prefix,
        workflow=workflow,
        triage_owner=triage_owner,
        wip_limit=wip_limit,
    )
    click.echo(f"added queue {r.slug} (keys {r.prefix}-N)")


@queues_grp.command("edit")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--triage", "triage_owner", default=None, help="Handle, or 'none'.")
@click.option("--wip", "wip_limit", default=None, help="Number, or 'none'.")
@pass_state
def queues_edit(
    state: AppState, slug: str, name: str | None, triage_owner: str | None, wip_limit: str | None
) -> None:
    """Change a queue."""
    from ..services import people as people_svc

    fields: dict[str, object] = {}
    if name:
        fields["name"] = name
    if triage_owner is not None:
        fields["triage_owner"] = None if triage_owner.lower() == "none" else triage_owner
    if wip_limit is not None:
        if wip_limit.lower() == "none":
            fields["wip_limit"] = None
        elif wip_limit.isdigit():
            fields["wip_limit"] = int(wip_limit)
        else:
            raise click.BadParameter("a whole number or 'none'", param_hint="--wip")
    db = state.open()
    r = people_svc.edit_queue(db, slug, **fields)
    click.echo(f"updated queue {r.slug}")


# --- events --------------------------------------------------------------------------


def _event_line(e: q.EventRecord) -> str:
    what = e.item_key or (f"{e.entity}#{e.entity_id}" if e.entity_id else e.entity)
    change = f"{e.old or '-'} -> {e.new or '-'}" if e.old is not None else (e.new or "")
    return one_line(
        f"{e.id:>7} {e.ts:%Y-%m-%d %H:%M:%S} {e.person or e.unix_user:<10} {what:<10} {e.field}: {change}"
    )


def _event_json(e: q.EventRecord) -> dict[str, object]:
    return {
        "id": e.id,
        "at": e.ts.isoformat(),
        "unix_user": e.unix_user,
        "person": e.person,
        "entity": e.entity,
        "item": e.item_key,
        "field": e.field,
        "old": e.old,
        "new": e.new,
    }


@click.command("events")
@click.option("-n", "--limit", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--item", "item_key", default=None, help="Only this item's events.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events as they happen.")
@click.option("--after", default=None, type=int, help="Events after this id (a cursor).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_state
def events_cmd(
    state: AppState,
    limit: int,
    item_key: str | None,
    follow: bool,
    after: int | None,
    as_json: bool,
) -> None:
    """The audit log (newest last)."""
    import json

    from ..store import queries as q

    db = state.open()
    with db.read() as conn:
        item_id = None
        if item_key:
            item = q.get_item(conn, item_key)
            if item is None:
                from ..errors import NotFound

                raise NotFound(f"no item {item_key.upper()!r}")
            item_id = item.id
        if after is not None:
            events = [
                e
                for e in q.events_after(conn, after, limit)
                if item_id is None or e.item_id == item_id
            ]
        else:
            events = q.recent_events(conn, limit, item_id)
        cursor = q.last_event_id(conn)

    def show(e: q.EventRecord) -> None:
        click.echo(json.dumps(_event_json(e), ensure_ascii=True) if as_json else _event_line(e))

    for e in events:
        show(e)
    if not follow:
        return
    from ..sync.follow import follow_events

    for e in follow_events(
        db, cursor, poll_interval=state.config.poll_interval, force_poll=state.poll
    ):
        if item_id is None or e.item_id == item_id:
            show(e)


COMMANDS = [init_cmd, demo_cmd, load_cmd, people_grp, queues_grp, events_cmd]
