"""Shared helpers for the automation tests: small definitions and real SQLite files."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from opstui.domain import models
from opstui.domain.clock import Clock
from opstui.services import loading as loader
from opstui.store.engine import Database
from opstui.store.schema import open_database

NOW = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)  # the sample data's anchor, a Friday
REPO = Path(__file__).resolve().parent.parent
SHOP = REPO / "sample_data" / "shop.toml"

BASE: dict[str, Any] = {
    "people": [
        {"handle": "ann", "name": "Ann", "skills": ["pm", "qa"]},
        {"handle": "ben", "name": "Ben", "skills": ["pm"]},
        {
            "handle": "cat",
            "name": "Cat",
            "skills": ["pm"],
            "away": [{"start": "2026-12-01", "end": "2026-12-10", "note": "leave"}],
        },
        {"handle": "dan", "name": "Dan", "skills": ["pm"], "active": False},
        {"handle": "jon", "name": "Jon", "skills": ["qa"]},
        {"handle": "zed", "name": "Zed", "skills": ["rare"]},
    ],
    "workflows": [
        {
            "name": "flow",
            "initial": "new",
            "states": [
                {"name": "new", "category": "new"},
                {"name": "doing", "category": "active"},
                {"name": "ready", "category": "active"},
                {"name": "done", "category": "done"},
                {"name": "refunded", "category": "done"},
            ],
            "transitions": [
                {"from": "new", "to": "doing"},
                {"from": "doing", "to": "ready", "actions": []},
                {"from": "ready", "to": "doing"},
                {"from": "doing", "to": "done"},
                {"from": "doing", "to": "refunded", "requires_approval": True},
            ],
        },
        {
            "name": "simple",
            "initial": "open",
            "states": [{"name": "open", "category": "new"}, {"name": "closed", "category": "done"}],
            "transitions": [{"from": "open", "to": "closed"}, {"from": "closed", "to": "open"}],
        },
    ],
    "queues": [
        {
            "slug": "work",
            "name": "Work",
            "prefix": "WRK",
            "workflow": "flow",
            "triage_owner": "ben",
        },
        {"slug": "qa", "name": "QA", "prefix": "QA", "workflow": "flow", "triage_owner": "jon"},
        {"slug": "notes", "name": "Notes", "prefix": "NOTE", "workflow": "simple"},
    ],
}


def data_with(
    actions: list[dict[str, Any]] | None = None,
    *,
    transition: tuple[str, str] = ("doing", "ready"),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """BASE with ``actions`` on the given transition of workflow ``flow``."""
    data = copy.deepcopy(BASE)
    if actions is not None:
        for t in data["workflows"][0]["transitions"]:
            if (t["from"], t["to"]) == transition:
                t["actions"] = actions
    for key, value in (extra or {}).items():
        data[key] = value
    return data


def new_db(path: Path, now: datetime = NOW) -> Database:
    return open_database(path, create=True, clock=Clock.frozen(now), unix_user="tester")


def make_db(
    tmp_path: Path, data: dict[str, Any], now: datetime = NOW, name: str = "t.db"
) -> Database:
    db = new_db(tmp_path / name, now)
    loader.load_data(db, data, source="test.toml")
    return db


def copy_db(src: Path, dst: Path, now: datetime = NOW) -> Database:
    shutil.copyfile(src, dst)
    for suffix in ("-wal", "-shm"):
        side = src.with_name(src.name + suffix)
        if side.exists():
            shutil.copyfile(side, dst.with_name(dst.name + suffix))
    return open_database(dst, create=False, clock=Clock.frozen(now), unix_user="tester")


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a transition could change, to compare before/after a dry run."""
    with db.read() as conn:
        return tuple(
            tuple(tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)))
            for t in (
                models.Item.__table__,
                models.Event.__table__,
                models.ItemLink.__table__,
                models.Approval.__table__,
                models.ProcessRun.__table__,
                models.Process.__table__,
                models.Queue.__table__,
            )
        )
