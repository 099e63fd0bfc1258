"""``domain.targets.TARGET_FIELDS`` names every field ``targets`` reads: the SLA pane keeps
its order when a changed row differs only in other fields (issue 17), so a field read but
not listed would leave rows out of order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opstui.domain import targets as tg
from opstui.store import panes as pane_q
from opstui.store.engine import Database
from tests.conftest import ANCHOR


class Recording:
    """A row that notes which of its attributes are read."""

    def __init__(self, row: Any) -> None:
        object.__setattr__(self, "_row", row)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._row, name)


def test_targets_reads_only_the_listed_fields(sample_db: Database) -> None:
    with sample_db.read() as conn:
        rows = [it.row for it in pane_q.open_items(conn)]
    assert len(rows) > 20
    read: set[str] = set()
    for row in rows:
        for hours in (-48, 0, 3, 30, 24 * 40):
            rec = Recording(row)
            tg.targets(rec, ANCHOR + timedelta(hours=hours))
            tg.nearest(rec, ANCHOR + timedelta(hours=hours))
            read |= rec.read
    assert read <= set(tg.TARGET_FIELDS), read - set(tg.TARGET_FIELDS)
    assert {"sla_fr_due", "sla_res_due", "sla_paused_since"} <= read


def test_same_targets_sees_a_moved_due_time(sample_db: Database) -> None:
    from dataclasses import replace

    with sample_db.read() as conn:
        row = next(it.row for it in pane_q.open_items(conn) if it.row.sla_res_due is not None)
    assert tg.same_targets(row, replace(row, owner="someone else", title="x"))
    assert not tg.same_targets(row, replace(row, sla_res_due=row.sla_res_due + timedelta(1)))
