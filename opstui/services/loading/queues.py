"""The ``[[queues]]`` section: queues are added, or updated when the slug exists."""

from __future__ import annotations

from typing import Any

from ...errors import OpsError
from ...store import definitions as defs
from .. import people as people_svc
from .base import LoadError, Loading, known, no_repeats, require

QUEUE_KEYS = {"slug", "name", "prefix", "workflow", "triage_owner", "wip_limit", "description"}


def load_queues(ld: Loading, entries: list[dict[str, Any]]) -> None:
    no_repeats(ld, "queues", entries, "slug")
    for i, e in enumerate(entries):
        where = ld.where("queues", i, e, "slug")
        known(e, QUEUE_KEYS, where)
        require(e, ("slug",), where)
        for k in ("slug", "name", "prefix", "workflow", "triage_owner", "description"):
            if k in e and not isinstance(e[k], str):
                raise LoadError(f"{where}: {k} must be text (got {e[k]!r})")
        try:
            qid = defs.queue_id(ld.ctx.conn, e["slug"])
            if qid is not None:
                people_svc.update_loaded_queue_in(ld.ctx, qid, **e)
            else:
                people_svc.add_queue_in(ld.ctx, **e)
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["queues"] = len(entries)
