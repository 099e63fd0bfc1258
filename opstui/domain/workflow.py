"""Pure workflow-automation logic: triggers, occurrences, templates, runbooks, chain cycles.

No IO here: the services layer reads the rows and hands plain values in.

Process triggers
----------------
* ``cron``: a five-field cron expression (``0 9 1 * *``), parsed by croniter.
* ``rrule``: an RFC 5545 recurrence rule (``FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0``),
  parsed by ``dateutil.rrule``.  Without a ``DTSTART`` the rule starts at
  :data:`RRULE_DEFAULT_START` (midnight, in the process's time zone).  Rules recur at most
  hourly (a process is operations work, not a heartbeat).
* ``event``: ``kind:state``, run when an item of that kind reaches that state.

Schedules are evaluated as wall-clock times in the process's time zone (so "09:00
Europe/London" stays 09:00 across daylight-saving changes) and returned in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TRIGGER_KINDS = ("cron", "rrule", "event")
#: Where an RRULE without DTSTART starts counting (its phase for INTERVAL rules).
RRULE_DEFAULT_START = datetime(2025, 1, 1)
_RRULE_TOO_FREQUENT = ("SECONDLY", "MINUTELY")


class TriggerError(ValueError):
    """A trigger that does not parse; ``str()`` is the reason shown to the user."""


@dataclass(frozen=True)
class Trigger:
    kind: str  # cron | rrule | event
    text: str
    timezone: str = "UTC"

    def describe(self) -> str:
        if self.kind == "event":
            kind, _, state = self.text.partition(":")
            return f"when a {kind} item reaches {state}"
        return f"{self.kind} {self.text} ({self.timezone})"


def zone(name: str) -> ZoneInfo:
    """The named IANA time zone, or TriggerError."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise TriggerError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/London)"
        ) from None


def parse_event(text: str) -> tuple[str, str]:
    """``"kind:state"`` -> (kind, state)."""
    kind, sep, state = str(text).partition(":")
    kind, state = kind.strip(), state.strip()
    if not sep or not kind or not state or ":" in state:
        raise TriggerError(
            f"event trigger {text!r} must look like 'kind:state' (e.g. 'project:resourcing')"
        )
    return kind, state


def _cron(text: str, start: datetime) -> Any:
    from croniter import croniter

    fields = str(text).split()
    if not str(text).startswith("@") and len(fields) != 5:
        raise TriggerError(
            f"cron {text!r} must have 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    try:
        if not croniter.is_valid(text):
            raise TriggerError(f"cron {text!r} does not parse")
        return croniter(text, start)
    except TriggerError:
        raise
    except Exception as exc:  # croniter raises several error types
        raise TriggerError(f"cron {text!r} does not parse: {exc}") from None


def _rrule(text: str, tz: ZoneInfo) -> Any:
    from dateutil.rrule import rrule, rruleset, rrulestr

    body = str(text).strip()
    if not body:
        raise TriggerError("rrule is empty")
    upper = body.upper()
    if any(f"FREQ={f}" in upper for f in _RRULE_TOO_FREQUENT):
        raise TriggerError(
            f"rrule {text!r} recurs more often than hourly; processes recur at most hourly"
        )
    try:
        if "DTSTART" in upper:
            rule = rrulestr(body, forceset=False)
        else:
            rule = rrulestr(body, dtstart=RRULE_DEFAULT_START.replace(tzinfo=tz), forceset=False)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TriggerError(f"rrule {text!r} does not parse: {exc}") from None
    if not isinstance(rule, rrule | rruleset):
        raise TriggerError(f"rrule {text!r} does not parse")
    start = getattr(rule, "_dtstart", None)
    if start is not None and start.tzinfo is None:
        raise TriggerError(f"rrule {text!r}: DTSTART needs a time zone (or leave it out)")
    return rule


def validate_trigger(kind: str, text: str, timezone: str) -> Trigger:
    """Parse a trigger fully (raises TriggerError with the reason)."""
    if kind not in TRIGGER_KINDS:
        raise TriggerError(f"unknown trigger {kind!r} (one of {', '.join(TRIGGER_KINDS)})")
    if not isinstance(text, str) or not text.strip():
        raise TriggerError(f"{kind} trigger is empty")
    tz = zone(timezone)
    if kind == "cron":
        _cron(text, datetime(2025, 1, 1, tzinfo=tz))
    elif kind == "rrule":
        rule = _rrule(text, tz)
        probe = datetime(2025, 1, 1, tzinfo=tz)
        try:
            rule.after(probe)
        except (ValueError, TypeError, OverflowError) as exc:
            raise TriggerError(f"rrule {text!r} cannot be evaluated: {exc}") from None
    else:
        parse_event(text)
    return Trigger(kind, text.strip(), timezone)


def latest_occurrence(trigger: Trigger, now: datetime) -> datetime | None:
    """The latest scheduled time at or before ``now`` (UTC), or None (events, or not yet)."""
    if trigger.kind == "event":
        return None
    tz = zone(trigger.timezone)
    local = now.astimezone(tz)
    if trigger.kind == "cron":
        it = _cron(trigger.text, local + timedelta(seconds=1))
        try:
            found = it.get_prev(datetime)
        except Exception:  # no earlier match (impossible dates such as 30 Feb)
            return None
    else:
        found = _rrule(trigger.text, tz).before(local, inc=True)
    if found is None:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=tz)
    return found.astimezone(UTC)


def next_occurrence(trigger: Trigger, now: datetime) -> datetime | None:
    """The next scheduled time strictly after ``now`` (UTC), or None."""
    if trigger.kind == "event":
        return None
    tz = zone(trigger.timezone)
    local = now.astimezone(tz)
    if trigger.kind == "cron":
        try:
            found = _cron(trigger.text, local).get_next(datetime)
        except Exception:
            return None
    else:
        found = _rrule(trigger.text, tz).after(local, inc=False)
    if found is None:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=tz)
    return found.astimezone(UTC)


#: How a schedule catches up on occurrences missed while nothing ran (the app was closed,
#: the server was down): ``latest`` creates only the latest missed one, ``all`` every one
#: since the last run (at most :data:`MAX_CATCH_UP`), ``skip`` none (the next on time).
CATCH_UP = ("latest", "all", "skip")
MAX_CATCH_UP = 24
#: An occurrence created more than this after its due time is *late* (a caught-up one).
LATE_AFTER = timedelta(minutes=15)


def is_late(due: datetime, created: datetime) -> bool:
    """An occurrence created more than :data:`LATE_AFTER` after it was due."""
    return created - due > LATE_AFTER


def pending_occurrences(
    trigger: Trigger, last: datetime | None, now: datetime, catch_up: str = "latest"
) -> list[datetime]:
    """The occurrences of a schedule to create at ``now``, oldest first: those after the
    last run's occurrence ``last`` and at or before ``now``, as ``catch_up`` says.

    The latest occurrence is always among them while it is on time (not late); without a
    last run only the latest occurrence counts (a new process has no backlog).
    """
    if catch_up not in CATCH_UP:
        raise TriggerError(f"catch_up must be one of {', '.join(CATCH_UP)} (got {catch_up!r})")
    latest = latest_occurrence(trigger, now)
    if latest is None or (last is not None and latest <= last):
        return []
    if catch_up == "skip":
        return [] if is_late(latest, now) else [latest]
    if catch_up == "latest" or last is None:
        return [latest]
    # walk back from the latest: bounded however long nothing ran
    found: list[datetime] = [latest]
    while len(found) < MAX_CATCH_UP:
        at = latest_occurrence(trigger, found[-1] - timedelta(seconds=1))
        if at is None or at <= last:
            break
        found.append(at)
    return found[::-1]


# --- templates -------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_fields(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template or "")


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders.  Values are inserted literally (never re-parsed);
    unknown names are left as they are."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return str(values[name]) if name in values and values[name] is not None else m.group(0)

    return _PLACEHOLDER.sub(sub, template or "")


# --- runbooks ------------------------------------------------------------------------

_STEP = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)(.*\S)\s*$")


def runbook_steps(runbook: str) -> list[str]:
    """The steps of a Markdown runbook: list items (``1.``, ``-``, ``- [ ]``); if it has no
    list, every non-empty line that is not a heading."""
    lines = (runbook or "").splitlines()
    steps = [m.group(1).strip() for m in (_STEP.match(line) for line in lines) if m]
    if steps:
        return steps
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def checklist_markdown(title: str, steps: Iterable[str]) -> str:
    body = [f"Runbook: {title}", ""]
    body.extend(f"- [ ] {s}" for s in steps)
    return "\n".join(body)


# --- chains --------------------------------------------------------------------------


def find_cycle(edges: Mapping[Hashable, Iterable[Hashable]]) -> list[Any] | None:
    """A cycle in a directed graph as ``[a, b, ..., a]``, or None.  Iterative DFS."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour: dict[Hashable, int] = {}
    nodes = list(edges)
    for n in list(nodes):
        for m in edges[n]:
            if m not in edges:
                nodes.append(m)
    for root in nodes:
        if colour.get(root, WHITE) != WHITE:
            continue
        path: list[Hashable] = [root]
        stack = [iter(edges.get(root, ()))]
        colour[root] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
                continue
            c = colour.get(nxt, WHITE)
            if c == GREY:
                return path[path.index(nxt) :] + [nxt]
            if c == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
    return None
