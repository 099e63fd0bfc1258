"""The stable ``--json`` shape of items (documented in the README)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.item_sla import item_sla_json
from ..store.records import ItemRecord


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def item_json(item: ItemRecord, now: datetime) -> dict[str, Any]:

    return {
        "key": item.key,
        "title": item.title,
        "queue": item.queue,
        "owner": item.owner,
        "status": item.status,
        "category": item.category,
        "priority": item.priority_label,
        "kind": item.kind,
        "estimate_hours": item.estimate_hours,
        "requester": item.requester,
        "created": iso(item.created_at),
        "updated": iso(item.updated_at),
        "first_response": iso(item.first_response_at),
        "resolved": iso(item.resolved_at),
        "due": iso(item.due_at),
        "approval": item.approval,
        "version": item.version,
        "sla": item_sla_json(item, now),
        **source_json(item),
    }


def source_json(item: ItemRecord) -> dict[str, Any]:
    """An imported item's origin: ``external_key`` and ``source`` (system, named fields
    kept from the source, and the source's own facts such as ServiceNow's ``made_sla``)."""
    src = (item.data or {}).get("source")
    if not src:
        return {}
    return {
        "external_key": src.get("key"),
        "source": {
            "system": src.get("system"),
            "file": src.get("file"),
            "fields": dict(src.get("fields") or {}),
            "facts": dict(src.get("facts") or {}),
        },
    }
