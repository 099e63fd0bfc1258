"""Which new events this terminal's person should be told about (pure; no Textual, no IO).

A notice is due when, made by someone else:
- an item is assigned to me (event field ``owner``, new value = my handle);
- an item is created in, or moved to, a queue I triage (fields ``created`` / ``queue``);
- a notification is addressed to me (field ``notify``, new value ``"handle: message"``);
- an item I own reaches an SLA warning or breach (fields ``sla_warning`` / ``sla_breached``);
- an item I own, or that waits unowned in a queue I triage, starts drifting (field
  ``drifting``: the forecast says it will miss its date).
Never for my own changes (SLA crossings and drift excepted: any terminal's timer may record
them).  The UI shows notices as toasts (and rings the bell if configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..domain.text import one_line

Severity = Literal["information", "warning", "error"]

SLA_FIELDS = frozenset({"sla_warning", "sla_breached"})
#: Events written by whichever terminal's timer noticed first: never anyone's own change.
TIMER_FIELDS = SLA_FIELDS | {"drifting"}


@dataclass(frozen=True)
class TriageQueue:
    slug: str
    name: str = ""
    prefix: str = ""

    def matches(self, value: str) -> bool:
        v = value.strip().casefold()
        return bool(v) and v in {self.slug.casefold(), self.name.casefold(), self.prefix.casefold()}


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the terminal's Unix user, their person and the queues they triage."""

    unix_user: str
    handle: str | None = None
    person_id: int | None = None
    triage: tuple[TriageQueue, ...] = ()

    def triages(self, value: str | None) -> TriageQueue | None:
        if not value:
            return None
        return next((t for t in self.triage if t.matches(value)), None)

    def triage_for_key(self, key: str | None) -> TriageQueue | None:
        if not key or "-" not in key:
            return None
        prefix = key.rsplit("-", 1)[0]
        return next(
            (t for t in self.triage if t.prefix and t.prefix.casefold() == prefix.casefold()), None
        )


@dataclass(frozen=True)
class Notice:
    event_id: int
    kind: Literal["assigned", "queued", "notify", "sla_warning", "sla_breached", "drifting"]
    item_key: str | None
    title: str
    message: str
    severity: Severity = "information"


def is_mine(event: Any, viewer: Viewer) -> bool:
    """Whether the event is this viewer's own change."""
    if event.unix_user == viewer.unix_user:
        return True
    person = getattr(event, "person", None)
    return bool(viewer.handle and person and person == viewer.handle)


def _who(event: Any) -> str:
    return one_line(getattr(event, "person", None) or event.unix_user or "someone")


def _key(event: Any) -> str:
    return one_line(
        event.item_key or (f"{event.entity}#{event.entity_id}" if event.entity_id else "?")
    )


def notices_for(
    events: Iterable[Any], viewer: Viewer, owners: Mapping[int, str | None] | None = None
) -> list[Notice]:
    """The notices due for ``viewer`` among ``events`` (EventRecord-like objects), in order.

    ``owners`` (item id -> owner handle, see :func:`sla_owners`) decides whether an SLA event
    is about an item I own; owner changes inside ``events`` are followed along.
    """
    out: list[Notice] = []
    handle = (viewer.handle or "").casefold()
    owner_of: dict[int, str | None] = dict(owners or {})
    for e in events:
        if e.field == "owner" and e.item_id is not None:
            owner_of[e.item_id] = e.new
        # SLA crossings are written by whichever terminal's timer noticed them first: who
        # recorded one says nothing about whose change it was, so they are never "mine".
        if e.field not in TIMER_FIELDS and is_mine(e, viewer):
            continue
        if getattr(e, "entity", "item") not in ("item", None):
            continue
        new = e.new or ""
        key = _key(e)
        if e.field == "owner" and handle and new.casefold() == handle:
            out.append(
                Notice(
                    e.id,
                    "assigned",
                    e.item_key,
                    "Assigned to you",
                    f"{key} assigned to you by {_who(e)}",
                )
            )
        elif e.field == "created" and (tq := viewer.triage_for_key(e.item_key or new)):
            out.append(
                Notice(
                    e.id,
                    "queued",
                    e.item_key,
                    f"New in {one_line(tq.name or tq.slug)}",
                    f"{key} created by {_who(e)}",
                )
            )
        elif e.field == "queue" and (tq := viewer.triages(new)):
            out.append(
                Notice(
                    e.id,
                    "queued",
                    e.item_key,
                    f"Moved to {one_line(tq.name or tq.slug)}",
                    f"{key} moved there by {_who(e)}",
                )
            )
        elif e.field == "notify" and handle and ":" in new:
            to, _, message = new.partition(":")
            if to.strip().lstrip("@").casefold() == handle:
                text = one_line(message.strip()) or key
                out.append(Notice(e.id, "notify", e.item_key, f"From {_who(e)}", text))
        elif e.field in ("sla_warning", "sla_breached") and handle:
            owner = owner_of.get(e.item_id) if e.item_id is not None else None
            if owner is not None and owner.casefold() == handle:
                breached = e.field == "sla_breached"
                detail = one_line(new) if new else ""
                out.append(
                    Notice(
                        e.id,
                        e.field,  # type: ignore[arg-type]
                        e.item_key,
                        "SLA breached" if breached else "SLA warning",
                        f"{key}: {detail}" if detail else key,
                        "error" if breached else "warning",
                    )
                )
        elif e.field == "drifting" and new and handle and e.item_id is not None:
            owner = owner_of.get(e.item_id)
            mine = owner is not None and owner.casefold() == handle
            if mine or (owner is None and viewer.triage_for_key(e.item_key)):
                out.append(
                    Notice(
                        e.id,
                        "drifting",
                        e.item_key,
                        "Drifting" if mine else "Unowned work drifting",
                        f"{key}: {one_line(new)}",
                        "warning",
                    )
                )
    return out


def load_viewer(db: Any) -> Viewer:
    """Build the :class:`Viewer` for this terminal from the database (a short read)."""
    from ..store import queries as q

    with db.read() as conn:
        pid = db.person_id(conn)
        handle = None
        if pid is not None:
            handle = next((p.handle for p in q.list_people(conn) if p.id == pid), None)
        triage = tuple(
            TriageQueue(r.slug, r.name, r.prefix)
            for r in q.list_queues(conn)
            if handle and r.triage_owner == handle
        )
    return Viewer(unix_user=db.unix_user, handle=handle, person_id=pid, triage=triage)


def sla_owners(db: Any, events: Iterable[Any]) -> dict[int, str | None]:
    """Current owners of the items that have timer events (SLA, drift) in ``events`` (one
    short read, or none)."""
    from ..store import queries as q

    ids = sorted({e.item_id for e in events if e.field in TIMER_FIELDS and e.item_id is not None})
    if not ids:
        return {}
    with db.read() as conn:
        return {r.id: r.owner for r in q.items_by_ids(conn, ids)}
