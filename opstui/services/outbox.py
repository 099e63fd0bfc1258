"""The outbox: defining hooks, and delivering what the changes wrote.

Deliveries are written by the write context in the change's own transaction
(:mod:`opstui.services.context`).  A deliverer leases one row at a time, sends it with no
transaction open, and records the outcome only if it still holds the lease, so a deliverer
killed mid-send loses nothing: the lease runs out and the row is sent again with the same
delivery id.  One deliverer at a time holds the ``deliverer`` lease (elected: the first to
take it keeps it while it renews it).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..domain import hooks as dh
from ..domain.fields import parse_priority
from ..errors import OpsError
from ..store import definitions as defs
from ..store import outbox as ob
from ..store.engine import Database
from .context import writing

ELECTION = "deliverer"
#: How long the elected deliverer holds its role without renewing it.
ELECTION_TTL = timedelta(seconds=30)
#: A row's lease outlives its send timeout by this much.
LEASE_SLACK = timedelta(seconds=15)
HOOK_KEYS = {
    "name",
    "on",
    "queue",
    "state",
    "priority",
    "url",
    "command",
    "secret",
    "timeout",
    "max_attempts",
    "active",
}


class HookError(OpsError):
    pass


def owner_id() -> str:
    """Who a deliverer is, in leases: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- defining hooks ------------------------------------------------------------------


def hook_values(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """Check one hook definition (load file or CLI) and return its column values."""
    unknown = sorted(set(entry) - HOOK_KEYS)
    if unknown:
        raise HookError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(HOOK_KEYS))})"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise HookError(f"{where}: missing required key 'name'")
    on = entry.get("on")
    if on not in dh.EVENTS:
        raise HookError(f"{where}: on must be one of {', '.join(dh.EVENTS)} (got {on!r})")
    url, command = entry.get("url"), entry.get("command")
    if (url is None) == (command is None):
        raise HookError(
            f"{where}: give exactly one of url (an HTTP POST) or command (an argv list)"
        )
    if url is not None:
        parts = urlsplit(str(url)) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise HookError(f"{where}: url must be an http:// or https:// URL")
    if command is not None and (
        not isinstance(command, list)
        or not command
        or not all(isinstance(a, str) and a for a in command)
    ):
        raise HookError(
            f'{where}: command must be a list of arguments, e.g. ["notify-send", "opstui"] '
            "(it is run without a shell)"
        )
    secret = entry.get("secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 8):
        raise HookError(f"{where}: secret must be a string of at least 8 characters")
    priority = entry.get("priority")
    if priority is not None:
        try:
            priority = parse_priority(priority)
        except (ValueError, OpsError) as exc:
            raise HookError(f"{where}: priority: {exc}") from None
    timeout = entry.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        raise HookError(f"{where}: timeout must be seconds between 0 and 300")
    attempts = entry.get("max_attempts", 8)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
        raise HookError(f"{where}: max_attempts must be a whole number from 1 to 100")
    for key in ("queue", "state"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise HookError(f"{where}: {key} must be a name")
    active = entry.get("active", True)
    if not isinstance(active, bool):
        raise HookError(f"{where}: active must be true or false (got {active!r})")
    return {
        "name": name.strip(),
        "on": on,
        "queue": entry.get("queue"),
        "state": entry.get("state"),
        "priority": priority,
        "url": url,
        "command": list(command) if command else None,
        "secret": secret,
        "timeout": float(timeout),
        "max_attempts": attempts,
        "active": active,
    }


def put_hook_in(ctx: Any, values: dict[str, Any], where: str) -> bool:
    """Create or replace a hook inside an open write context; True if it was new."""
    conn = ctx.conn
    if values["queue"] is not None:
        if defs.queue_id(conn, values["queue"]) is None:
            raise HookError(f"{where}: no queue {values['queue']!r}")
    if values["state"] is not None and not defs.state_exists(conn, values["state"]):
        raise HookError(f"{where}: no workflow has a state {values['state']!r}")
    values = {**values, "created_at": ctx.now}
    hook_id, created = ob.put_hook(conn, values)
    ctx.record(
        "hook",
        None,
        f"{values['name']}: on {values['on']} -> {_target(values)}",
        entity="hook",
        entity_id=hook_id,
    )
    return created


def _target(values: dict[str, Any]) -> str:
    if values.get("url"):
        return dh.mask_url(values["url"])
    return shlex.join(values.get("command") or ())


def add_hook(db: Database, entry: dict[str, Any]) -> bool:
    values = hook_values(entry, "hook")
    with writing(db) as ctx:
        return put_hook_in(ctx, values, f"hook {values['name']}")


def remove_hook(db: Database, name: str) -> int:
    """Remove a hook; returns how many of its undelivered rows became dead letters."""
    with writing(db) as ctx:
        row = ob.hook_by_name(ctx.conn, name)
        if row is None:
            raise HookError(f"no hook named {name!r} (see 'opstui hooks ls')")
        n = ob.remove_hook(ctx.conn, row.id, ctx.now)
        ctx.record("hook", name, None, entity="hook", entity_id=row.id)
        return n


def list_hooks(db: Database) -> list[dict[str, Any]]:
    """Hooks as safe-to-print dicts: no secret, URL credentials masked."""
    with db.read() as conn:
        rows = ob.hooks(conn)
    return [
        {
            "name": r.name,
            "on": r.on,
            "queue": r.queue,
            "state": r.state,
            "priority": f"P{r.priority}" if r.priority else None,
            "target": _target({"url": r.url, "command": r.command}),
            "signed": bool(r.secret),
            "timeout": r.timeout,
            "max_attempts": r.max_attempts,
            "active": bool(r.active),
        }
        for r in rows
    ]


# --- sending -------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    error: str | None = None


def send(rule: Any, row: Any) -> Outcome:
    """Send one delivery (no transaction open).  Errors come back with secrets masked."""
    payload = row.payload.encode()
    secrets = [rule.secret, *dh.url_secrets(rule.url)]
    try:
        if rule.url:
            return _post(rule, row, payload)
        return _run(rule, row, payload)
    except Exception as exc:  # anything a receiver does to us is a failed attempt
        return Outcome(False, dh.scrub(f"{type(exc).__name__}: {exc}", secrets))


def _post(rule: Any, row: Any, payload: bytes) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "opstui-outbox/1",
        "X-Opstui-Delivery": row.delivery_id,
        "X-Opstui-Event": row.event,
        "X-Opstui-Hook": row.hook,
    }
    if rule.secret:
        headers["X-Opstui-Signature"] = dh.signature(rule.secret, payload)
    request = urllib.request.Request(rule.url, data=payload, headers=headers, method="POST")
    secrets = [rule.secret, *dh.url_secrets(rule.url)]
    try:
        with urllib.request.urlopen(request, timeout=rule.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return Outcome(False, dh.scrub(f"HTTP {exc.code} {exc.reason}", secrets))
    except urllib.error.URLError as exc:
        reason = exc.reason
        why = (reason.strerror or str(reason)) if isinstance(reason, OSError) else str(reason)
        return Outcome(False, dh.scrub(f"{why} ({dh.mask_url(rule.url)})", secrets))
    except TimeoutError:
        return Outcome(False, f"no answer within {rule.timeout:g}s")
    if 200 <= status < 300:
        return Outcome(True)
    return Outcome(False, f"HTTP {status}")


def _run(rule: Any, row: Any, payload: bytes) -> Outcome:
    env = {
        **os.environ,
        "OPSTUI_DELIVERY": row.delivery_id,
        "OPSTUI_EVENT": row.event,
        "OPSTUI_HOOK": row.hook,
    }
    if rule.secret:
        env["OPSTUI_SIGNATURE"] = dh.signature(rule.secret, payload)
    try:
        done = subprocess.run(
            list(rule.command),
            input=payload,
            capture_output=True,
            timeout=rule.timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        return Outcome(False, f"command not found: {rule.command[0]}")
    except PermissionError:
        return Outcome(False, f"command not executable: {rule.command[0]}")
    except subprocess.TimeoutExpired:
        return Outcome(False, f"command did not finish within {rule.timeout:g}s")
    if done.returncode == 0:
        return Outcome(True)
    tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    message = f"exit {done.returncode}" + (f": {tail[0][:200]}" if tail[0] else "")
    return Outcome(False, dh.scrub(message, [rule.secret]))


# --- the deliverer -------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    elected: bool = True
    holder: str | None = None
    errors: list[str] = field(default_factory=list)


def elect(db: Database, owner: str) -> bool:
    """Take or renew the deliverer role; False while another deliverer holds it."""
    with db.write() as conn:
        return ob.take_lease(conn, ELECTION, owner, db.clock.now(), ELECTION_TTL)


def resign(db: Database, owner: str) -> None:
    with db.write() as conn:
        ob.drop_lease(conn, ELECTION, owner)


def holder(db: Database) -> str | None:
    with db.read() as conn:
        return ob.lease_holder(conn, ELECTION, db.clock.now())


def deliver_one(db: Database, owner: str) -> tuple[Any, Outcome] | None:
    """Lease, send and settle the next due delivery; None when nothing is due."""
    with db.write() as conn:
        now = db.clock.now()
        row = ob.claim_next(conn, owner, now, timedelta(seconds=300) + LEASE_SLACK)
        if row is None:
            return None
        rule = ob.hook_by_id(conn, row.hook_id)
        if rule is not None:
            lease = timedelta(seconds=float(rule.timeout)) + LEASE_SLACK
            ob.finish_lease(conn, row.id, owner, now + lease)
    if rule is None:
        outcome = Outcome(False, "hook removed")
    elif not rule.active:
        outcome = Outcome(False, "hook is inactive")
    else:
        outcome = send(rule, row)
    with db.write() as conn:
        now = db.clock.now()
        if outcome.ok:
            values: dict[str, Any] = {
                "status": "delivered",
                "delivered_at": now,
                "last_error": None,
            }
        else:
            limit = int(rule.max_attempts) if rule is not None else 0
            values = {
                "last_error": outcome.error,
                "failing_since": row.failing_since or now,
            }
            if rule is None or row.attempts >= limit:
                values["status"] = "dead"
            else:
                values["next_at"] = now + dh.backoff(row.attempts)
        ob.finish(conn, row.id, owner, values)
    return row, outcome


def deliver(
    db: Database, owner: str, *, limit: int = 1000, stop: threading.Event | None = None
) -> DeliveryReport:
    """Send what is due now, if elected.  Used by ``opstui deliver`` and the dashboards."""
    report = DeliveryReport()
    if not elect(db, owner):
        report.elected = False
        report.holder = holder(db)
        return report
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        done = deliver_one(db, owner)
        if done is None:
            break
        row, outcome = done
        if outcome.ok:
            report.sent += 1
        else:
            report.failed += 1
            report.errors.append(f"{row.hook}: {outcome.error}")
        if not elect(db, owner):  # renew; lost only if we stalled past the TTL
            break
    return report


def next_due(db: Database) -> datetime | None:
    with db.read() as conn:
        return ob.next_due(conn)


# --- looking and fixing --------------------------------------------------------------


def delivery_dict(row: Any, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": row.id,
        "id": row.delivery_id,
        "hook": row.hook,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "next_at": row.next_at.isoformat() if row.status == "pending" else None,
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "failing_since": row.failing_since.isoformat() if row.failing_since else None,
        "last_error": row.last_error,
    }
    payload = json.loads(row.payload)
    out["item"] = (payload.get("item") or {}).get("key")
    if full:
        out["payload"] = payload
        out["lease_owner"] = row.lease_owner
        out["lease_until"] = row.lease_until.isoformat() if row.lease_until else None
    return out


def list_deliveries(
    db: Database, *, status: str | None = None, hook: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    if status is not None and status not in (*dh.STATUSES, "failing"):
        raise HookError(f"status must be one of {', '.join((*dh.STATUSES, 'failing'))}")
    with db.read() as conn:
        if status == "failing":
            rows = ob.failing(conn)[-limit:]
        else:
            rows = ob.deliveries(conn, status=status, hook=hook, limit=limit)
    return [delivery_dict(r) for r in rows if hook is None or r.hook == hook]


def show_delivery(db: Database, ref: str) -> dict[str, Any]:
    with db.read() as conn:
        row = ob.delivery(conn, ref)
    if row is None:
        raise HookError(f"no delivery {ref!r} (see 'opstui outbox ls')")
    return delivery_dict(row, full=True)


def retry_deliveries(db: Database, refs: list[str], *, dead: bool = False) -> int:
    """Send again now: the named deliveries, or with ``dead`` every dead letter."""
    with db.write() as conn:
        ids: list[int] = []
        for ref in refs:
            row = ob.delivery(conn, ref)
            if row is None:
                raise HookError(f"no delivery {ref!r} (see 'opstui outbox ls')")
            ids.append(row.id)
        if dead:
            ids.extend(r.id for r in ob.deliveries(conn, status="dead", limit=100000))
        return ob.retry(conn, ids, db.clock.now())


def purge_deliveries(db: Database, *, older_than: timedelta, dead: bool = False) -> int:
    statuses = ("delivered", "dead") if dead else ("delivered",)
    with db.write() as conn:
        return ob.purge(conn, before=db.clock.now() - older_than, statuses=statuses)


@dataclass(frozen=True)
class FailingSummary:
    count: int
    since: datetime | None
    hook: str | None
    error: str | None
    dead: int

    def line(self, tz: Any = UTC) -> str:
        if not self.count:
            return ""
        since = self.since.astimezone(tz).strftime("%H:%M") if self.since else "?"
        noun = "delivery" if self.count == 1 else "deliveries"
        text = f"{self.count} {noun} failing since {since}: {self.hook} {self.error or ''}".rstrip()
        if self.dead:
            text += f" ({self.dead} dead)"
        return text

    def short(self) -> str:
        """For the status bar: ``3 deliveries failing: billing-webhook 500``."""
        noun = "delivery" if self.count == 1 else "deliveries"
        return f"{self.count} {noun} failing: {self.hook} {self.error or ''}".rstrip()


def failing_summary_in(conn: Any) -> FailingSummary:
    """For the status bar and the review: how many deliveries are failing, since when,
    and the latest hook and error (its HTTP status or the first words of the error)."""
    rows = ob.failing(conn)
    if not rows:
        return FailingSummary(0, None, None, None, 0)
    latest = rows[-1]
    error = latest.last_error or ""
    if error.startswith("HTTP "):
        error = error.split()[1]  # the status code
    else:
        error = error.split(" (")[0].split(":")[0][:40]
    return FailingSummary(
        count=len(rows),
        since=rows[0].failing_since,
        hook=latest.hook,
        error=error,
        dead=sum(1 for r in rows if r.status == "dead"),
    )


def failing_summary(db: Database) -> FailingSummary:
    with db.read() as conn:
        return failing_summary_in(conn)


@dataclass(frozen=True)
class Look:
    """What an open dashboard's outbox worker reads when it looks (one read)."""

    next_due: datetime | None
    failing: FailingSummary
    #: The hook events the active hooks hear: a change whose events are none of these
    #: (and no hook change) cannot have written a delivery.
    heard: frozenset[str]


def look(db: Database) -> Look:
    with db.read() as conn:
        return Look(
            ob.next_due(conn),
            failing_summary_in(conn),
            frozenset(rule.on for rule in ob.active_rules(conn)),
        )


#: Change-feed entities that change the hooks (one defined, changed or removed; a load).
HOOK_ENTITIES = frozenset({"hook", "load"})


def may_deliver(events: Any, heard: frozenset[str] | None) -> bool:
    """Could a transaction with these change-feed ``events`` have written deliveries or
    changed the hooks?  (``heard``: the events the active hooks hear, None if unknown.)
    Deliveries are written only for events with a hook event (``domain.hooks.event_of``)
    in the transaction that records them (``services.context.writing``)."""
    for e in events:
        if e.entity in HOOK_ENTITIES:
            return True
        if e.item_id is None:
            continue
        kind = dh.event_of(e.field, e.entity)
        if kind is not None and (heard is None or kind in heard):
            return True
    return False
