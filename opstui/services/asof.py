"""The board as of a past moment: a read-only copy of the database rewound to it.

``--now`` earlier than the latest change, and the review's "as of" picker, open the past
through :func:`open_as_of`: the store writes the board of that moment into a temporary
file (``store.asof.build_past``), this module recomputes the SLA columns of the items
whose due times differ then (with the clock at that moment), and the file is opened
read-only.  Every read then answers as of that moment with the figures' one definition
each, and every write is refused with :func:`note`.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from ..domain import models
from ..domain.clock import Clock
from ..errors import OpsError
from ..store import asof as store_asof
from ..store.engine import Database
from ..store.schema import open_database
from .context import writing
from .sla.compute import SLA_COLUMNS, refresh_item_sla, sla_update

EVENT = models.Event.__table__
ITEM = models.Item.__table__


def label(at: datetime) -> str:
    """``Mon 30 Nov 09:00`` in the local time zone (the marker on screens)."""
    return at.astimezone().strftime("%a %d %b %Y %H:%M")


def badge(at: datetime) -> str:
    """The marker on screens: ``AS OF Mon 30 Nov 09:00 · read-only``."""
    return f"AS OF {at.astimezone():%a %d %b %H:%M} \u00b7 read-only"


def note(at: datetime) -> str:
    """The one line every refused write says."""
    return f"as of {label(at)}: the past is read-only, nothing was changed"


def is_past(db: Database, at: datetime) -> bool:
    """Whether the log holds changes after ``at``: the board has moved on since."""
    with db.read() as conn:
        latest = store_asof.latest_change(conn)
    return latest is not None and latest > at


@dataclass
class AsOf:
    """A read-only database holding the board as of ``at``; :meth:`close` removes it."""

    db: Database
    at: datetime
    source_name: str
    folder: Path

    def close(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def open_as_of(
    source: Database,
    at: datetime,
    *,
    unix_user: str | None = None,
    me: str | None = None,
) -> AsOf:
    """The board of ``source`` as it stood at ``at``, as a read-only database whose clock
    is frozen at ``at``.  A PostgreSQL store is first copied into a file of the folder
    (``store.transfer.copy_store``, the copy ``opstui migrate`` makes), then rewound."""
    folder = Path(tempfile.mkdtemp(prefix="opstui-asof-"))
    try:
        origin = source.path if source.is_sqlite else _file_copy(source, folder)
        path = folder / f"{origin.stem}-as-of.db"
        stale = store_asof.build_past(origin, path, at)
        _recompute_sla(path, at, stale)
        db = open_database(
            path, create=False, clock=Clock.frozen(at), unix_user=unix_user, me=me, readonly=True
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    db.readonly_note = note(at)
    db.readonly_badge = badge(at)
    db.name = source.name
    view = AsOf(db, at, source.name, folder)
    weakref.finalize(view, shutil.rmtree, folder, True)
    return view


def _file_copy(source: Database, folder: Path) -> Path:
    """A whole copy of a server store in a database file (read from ``source`` only)."""
    from ..store.transfer import copy_store

    path = folder / "server-copy.db"
    copy = open_database(path, create=True, clock=source.clock)
    try:
        checks = copy_store(source, copy)
    finally:
        copy.dispose()
    bad = [c.table for c in checks if not c.ok]
    if bad:
        raise OpsError(f"the copy of {source.name} for the past board differs in {bad[0]}")
    return path


def _recompute_sla(path: Path, at: datetime, item_ids: list[int]) -> None:
    """The SLA columns of ``item_ids`` computed from their history up to ``at`` (the SLA
    engine's ``refresh_item_sla``, each item's status history read in one query for all);
    the crossings the engine would record now are not history, so they are dropped."""
    if not item_ids:
        return
    db = Database(path, clock=Clock.frozen(at))  # not open_database: no index rebuild
    try:
        with writing(db) as ctx:
            conn = ctx.conn
            last = conn.execute(select(func.max(EVENT.c.id))).scalar() or 0
            rows: dict[int, dict[str, Any]] = {}
            history: dict[int, list[tuple[datetime, str | None, str | None]]] = {}
            for i in range(0, len(item_ids), 500):
                chunk = item_ids[i : i + 500]
                for r in conn.execute(select(*SLA_COLUMNS).where(ITEM.c.id.in_(chunk))):
                    rows[r.id] = dict(r._mapping)
                for item_id, ts, old, new in conn.execute(
                    select(EVENT.c.item_id, EVENT.c.ts, EVENT.c.old, EVENT.c.new)
                    .where(EVENT.c.item_id.in_(chunk), EVENT.c.field == "status")
                    .order_by(EVENT.c.item_id, EVENT.c.id)
                ):
                    history.setdefault(item_id, []).append((ts, old, new))
            updates = []
            for item_id, values in rows.items():
                changes = refresh_item_sla(
                    ctx, item_id, values, statuses=_statuses(values, history.get(item_id, []))
                )
                changes = {k: v for k, v in changes.items() if values.get(k) != v}
                if changes:
                    updates.append((item_id, changes))
            for item_id, changes in updates:
                params = {f"v_{k}": v for k, v in changes.items()}
                params["w_id"] = item_id
                conn.execute(sla_update(tuple(sorted(changes))), params)
            conn.execute(delete(EVENT).where(EVENT.c.id > last))
            ctx.events.clear()
    finally:
        db.dispose()


def _statuses(
    values: dict[str, Any], history: list[tuple[datetime, str | None, str | None]]
) -> list[tuple[datetime, str]]:
    """(time, status) from creation on, as ``sla.compute.status_timeline`` reads it."""
    status = values["status"]
    first = history[0][1] if history and history[0][1] else status
    timeline: list[tuple[datetime, str]] = [(values["created_at"], first)]
    for ts, _old, new in history:
        timeline.append((max(ts, timeline[-1][0]), new or status))
    if timeline[-1][1] != status:
        timeline.append((timeline[-1][0], status))
    return timeline
