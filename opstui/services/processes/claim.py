"""Claiming one occurrence of a process (the unique ``process_run.occurrence_key``) and
the one way this package creates an occurrence's item (``create_item_in``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...domain import models
from ...store.dialect import insert_ignore
from ..context import Ctx
from ..items import create_item_in

__all__ = ["ProcessRunResult", "claim", "create_item_in", "occurrence_key"]

RUN = models.ProcessRun.__table__


@dataclass(frozen=True)
class ProcessRunResult:
    process: str
    name: str
    occurrence_key: str
    occurrence_at: datetime
    item: str | None
    owner: str | None
    queue: str
    text: str
    #: created after its due time (caught up): see ``workflow.is_late``.
    late: bool = False


def occurrence_key(process_key: str, at: datetime) -> str:
    """The unique key of a scheduled occurrence (``invoice-run@2026-12-01T09:00Z``)."""
    return f"{process_key}@{at.strftime('%Y-%m-%dT%H:%MZ')}"


def claim(ctx: Ctx, process_id: int, occurrence_key: str, at: datetime) -> int | None:
    """Insert the ProcessRun for one occurrence; None if it exists (already run).

    ``INSERT ... ON CONFLICT DO NOTHING`` on the unique occurrence key: of any number of
    terminals (on any machines) claiming the same occurrence, exactly one gets the row.
    """
    row = ctx.conn.execute(
        insert_ignore(ctx.conn, RUN, ["occurrence_key"])
        .values(
            process_id=process_id,
            occurrence_key=occurrence_key,
            occurrence_at=at,
            created_at=ctx.now,
            unix_user=ctx.unix_user,
        )
        .returning(RUN.c.id)
    ).first()
    return None if row is None else int(row[0])
