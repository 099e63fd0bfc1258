"""Items from a pipe: one JSON object, or JSON lines, create or update items.

An email gateway, a monitoring alert or a web form writes JSON; ``opstui ingest`` turns
each object into a created item, or a change to an existing one found by ``key`` or by
``external_key`` (the sender's own id, kept in the item's data).  All or nothing: one bad
line and nothing is written, and the error names the line and the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..domain import models
from ..domain.clock import parse_instant
from ..errors import OpsError
from ..store import queries as q
from .context import Ctx, writing
from .items import assign_in, comment_in, create_item_in, edit_in
from .transitions import transition_in

ITEM = models.Item.__table__
FIELDS = {
    "key",
    "external_key",
    "queue",
    "title",
    "body",
    "kind",
    "priority",
    "owner",
    "estimate",
    "requester",
    "due",
    "state",
    "comment",
}
#: Longest external key we keep (a message id, an alert fingerprint, a form id).
MAX_EXTERNAL = 200


class InboundError(OpsError):
    pass


@dataclass
class InboundReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(xs)} {name}"
            for name, xs in (
                ("created", self.created),
                ("updated", self.updated),
                ("unchanged", self.unchanged),
            )
            if xs
        ]
        return ", ".join(parts) or "nothing"


def parse_records(text: str, source: str = "stdin") -> list[tuple[int, dict[str, Any]]]:
    """One JSON object (it may span lines), a JSON array of objects, or JSON lines.
    Returns (line number, object) pairs; refuses anything else with its line."""
    stripped = text.strip()
    if not stripped:
        raise InboundError(f"{source}: no input (expected a JSON object or JSON lines)")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [(1, whole)]
    if isinstance(whole, list):
        if not all(isinstance(o, dict) for o in whole):
            raise InboundError(f"{source}: a JSON array must hold objects only")
        return [(i + 1, o) for i, o in enumerate(whole)]
    out: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InboundError(f"{source} line {n}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InboundError(f"{source} line {n}: expected a JSON object")
        out.append((n, obj))
    return out


def _text(obj: dict[str, Any], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InboundError(f"{where}: {name} must be text")
    return str(value)


def _find(ctx: Ctx, key: str | None, external: str | None, where: str) -> q.ItemRecord | None:
    if key:
        item = q.get_item(ctx.conn, key)
        if item is None:
            raise InboundError(f"{where}: no item {key.strip().upper()!r}")
        return item
    if external:
        row = ctx.conn.execute(
            select(ITEM.c.key).where(ITEM.c.data["external_key"].as_string() == external).limit(1)
        ).first()
        return q.get_item(ctx.conn, row.key) if row is not None else None
    return None


def apply_record(ctx: Ctx, obj: dict[str, Any], where: str, report: InboundReport) -> None:
    unknown = sorted(set(obj) - FIELDS)
    if unknown:
        raise InboundError(
            f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(FIELDS))})"
        )
    text = {k: _text(obj, k, where) for k in FIELDS}
    external = text["external_key"]
    if external is not None and not 0 < len(external) <= MAX_EXTERNAL:
        raise InboundError(f"{where}: external_key must be 1 to {MAX_EXTERNAL} characters")
    due: datetime | None = None
    if text["due"]:
        try:
            due = parse_instant(text["due"])
        except ValueError:
            raise InboundError(f"{where}: due is not an ISO 8601 time: {text['due']!r}") from None
    try:
        item = _find(ctx, text["key"], external, where)
        if item is None:
            if not text["queue"] or not text["title"]:
                raise InboundError(f"{where}: a new item needs queue and title")
            created = create_item_in(
                ctx,
                queue=text["queue"],
                title=text["title"],
                body=text["body"] or "",
                kind=text["kind"] or "task",
                priority=text["priority"] or 3,
                owner=text["owner"],
                estimate=text["estimate"],
                requester=text["requester"] or "",
                due_at=due,
                data={"external_key": external} if external else None,
            )
            if text["state"] and text["state"] != created.status:
                transition_in(ctx, created, text["state"])
            if text["comment"]:
                comment_in(ctx, q.get_item(ctx.conn, created.key) or created, text["comment"])
            report.created.append(created.key)
            return
        if text["queue"] and text["queue"] != item.queue:
            raise InboundError(
                f"{where}: {item.key} is in {item.queue}, not {text['queue']} "
                "(moving between queues is not done from a pipe)"
            )
        before = item.version
        edits = {
            name: value
            for name, value in (
                ("title", text["title"]),
                ("body", text["body"]),
                ("kind", text["kind"]),
                ("priority", text["priority"]),
                ("estimate", text["estimate"]),
                ("due", due),
            )
            if value is not None
        }
        item = edit_in(ctx, item, edits)
        if "owner" in obj and (obj["owner"] or None) != item.owner:
            item = assign_in(ctx, item, text["owner"] or None)
        if text["state"] and text["state"] != item.status:
            item, _ = transition_in(ctx, item, text["state"])
        if text["comment"]:
            comment_in(ctx, item, text["comment"])
        after = q.get_item(ctx.conn, item.key)
        changed = bool(text["comment"]) or (after is not None and after.version != before)
        (report.updated if changed else report.unchanged).append(item.key)
    except InboundError:
        raise
    except OpsError as exc:
        raise InboundError(f"{where}: {exc}") from None


def ingest(db: Any, text: str, *, source: str = "stdin", dry_run: bool = False) -> InboundReport:
    """Apply every record in ``text`` in one transaction (all or nothing)."""
    records = parse_records(text, source)
    report = InboundReport()
    with writing(db, dry_run=dry_run) as ctx:
        for n, obj in records:
            where = f"{source} line {n}" if len(records) > 1 or n > 1 else source
            apply_record(ctx, obj, where, report)
    return report
