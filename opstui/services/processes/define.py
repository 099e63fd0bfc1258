"""Storing a process definition (the loader validates it first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ...domain import models
from ..context import Ctx

PROCESS = models.Process.__table__


def save_process_in(ctx: Ctx, values: dict[str, Any]) -> int:
    """Store a process definition (replaced by key); ``values`` are its columns."""
    conn = ctx.conn
    existing = conn.execute(select(PROCESS.c.id).where(PROCESS.c.key == values["key"])).first()
    if existing:
        conn.execute(update(PROCESS).where(PROCESS.c.id == existing[0]).values(**values))
        pid = existing[0]
    else:
        pid = conn.execute(PROCESS.insert().values(**values)).inserted_primary_key[0]
    ctx.record("loaded", None, values["key"], entity="process", entity_id=pid)
    return int(pid)
