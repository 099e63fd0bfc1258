"""Hooks and deliveries as pure logic: which events a hook hears, the JSON body, the
signature, the retry schedule, and keeping secrets out of anything printed.  No IO."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

#: What a hook can listen to -> the event-log field that says it happened.
EVENT_FIELDS: dict[str, str] = {
    "transition": "status",
    "assigned": "owner",
    "sla.warning": "sla_warning",
    "sla.breached": "sla_breached",
    "created": "created",
    "process.due": "process_run",
    "drifting": "drifting",
}
FIELD_EVENTS = {v: k for k, v in EVENT_FIELDS.items()}
EVENTS = tuple(EVENT_FIELDS)
STATUSES = ("pending", "delivered", "dead")
#: Version of the JSON body; bumped only for incompatible changes.
PAYLOAD_VERSION = 1
MASK = "***"
_SECRET_PARAMS = re.compile(r"(token|key|secret|pass|password|sig|signature|auth)", re.I)


@dataclass(frozen=True)
class HookRule:
    id: int
    name: str
    on: str
    queue: str | None
    state: str | None
    priority: int | None
    url: str | None
    command: tuple[str, ...] | None
    secret: str | None
    timeout: float
    max_attempts: int

    def hears(self, event: str, new: str | None) -> bool:
        if event != self.on:
            return False
        # an item that stops drifting, or loses its owner, is not news for a hook
        return not (event in ("drifting", "assigned") and not new)

    def accepts(self, queue: str, state: str, priority: int) -> bool:
        return (
            (self.queue is None or self.queue == queue)
            and (self.state is None or self.state == state)
            and (self.priority is None or self.priority == priority)
        )

    @property
    def target(self) -> str:
        """Where it goes, safe to print."""
        if self.url:
            return mask_url(self.url)
        return shlex.join(self.command or ())


def event_of(field: str, entity: str) -> str | None:
    """The hook event an event-log row stands for, if any."""
    if entity not in ("item", "process"):
        return None
    if field == "created" and entity != "item":
        return None
    return FIELD_EVENTS.get(field)


def body(
    *,
    delivery_id: str,
    event: str,
    hook: str,
    time: datetime,
    actor: dict[str, Any],
    item: dict[str, Any] | None,
    change: dict[str, Any],
) -> str:
    """The JSON every delivery carries (documented in the README)."""
    return json.dumps(
        {
            "version": PAYLOAD_VERSION,
            "id": delivery_id,
            "event": event,
            "hook": hook,
            "time": time.isoformat(),
            "actor": actor,
            "item": item,
            "change": change,
        },
        ensure_ascii=True,
        separators=(",", ":"),
        sort_keys=True,
    )


def signature(secret: str, payload: bytes) -> str:
    """The ``X-Opstui-Signature`` header: ``sha256=`` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify(secret: str, payload: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, payload), header)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait before attempt ``attempts + 1``: 10 s doubling to at most an hour, with up to
    25% jitter either way so failing receivers are not hit in lock step."""
    base = min(3600.0, 10.0 * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(-0.25, 0.25)
    return timedelta(seconds=base * (1 + jitter))


def mask_url(url: str) -> str:
    """A URL with its password and secret-looking query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*"
        )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str | None) -> list[str]:
    """The parts of a URL that must never be printed."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    out: list[str] = []
    if parts.password:
        out.append(parts.password)
    if parts.username and parts.password is None and "@" in parts.netloc:
        out.append(parts.username)  # a bare token as the user name
    out.extend(v for k, v in parse_qsl(parts.query) if _SECRET_PARAMS.search(k) and v)
    return out


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``***`` (errors can quote a URL)."""
    for s in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text
