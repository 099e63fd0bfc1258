"""Who to suggest when assigning an item, and why (pure: no IO).

The order a person picker shows: one suggestion (the least loaded person who is not away
and has a skill the item needs, else the least loaded in the queue's team, else the least
loaded overall), then the queue's team, then everyone else, then the people who are away.
Each person carries the reason for their place, so nothing is suggested silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Group names, in the order they are shown.
SUGGESTED, TEAM, OTHERS, AWAY = "suggested", "team", "others", "away"


@dataclass(frozen=True)
class PersonLoad:
    """What the ranking needs about one active person."""

    handle: str
    name: str
    team: str
    skills: tuple[str, ...]
    load: float | None  # open estimate / weekly capacity; None without capacity
    away: bool


@dataclass(frozen=True)
class Ranked:
    person: PersonLoad
    group: str
    #: Why the person is in this place, e.g. "suggested: least loaded with skill windows".
    reason: str


def wanted_skills(known: Iterable[str], *texts: str | None) -> tuple[str, ...]:
    """Known skills named as whole words in the item's kind, title or body."""
    words = set()
    for text in texts:
        words |= set(re.findall(r"[\w][\w.+-]*", (text or "").lower()))
    return tuple(sorted(s for s in {k.lower() for k in known} if s in words))


def _load_key(p: PersonLoad) -> tuple[float, str]:
    return (p.load if p.load is not None else 9e9, p.handle)


def rank_people(
    people: Sequence[PersonLoad], *, skills: Sequence[str] = (), team: str | None = None
) -> list[Ranked]:
    """People in picker order with the reason for each place (see the module doc)."""
    present = [p for p in people if not p.away]
    away = sorted((p for p in people if p.away), key=lambda p: p.handle)
    suggestion: PersonLoad | None = None
    why = ""
    skilled = [p for p in present if set(skills) & {s.lower() for s in p.skills}]
    in_team = [p for p in present if team and p.team == team]
    if skilled:
        suggestion = min(skilled, key=_load_key)
        have = sorted(set(skills) & {s.lower() for s in suggestion.skills})
        why = f"suggested: least loaded with skill {', '.join(have)}"
    elif in_team:
        suggestion = min(in_team, key=_load_key)
        why = f"suggested: least loaded in team {team}"
    elif present:
        suggestion = min(present, key=_load_key)
        why = "suggested: least loaded"
    out: list[Ranked] = []
    if suggestion is not None:
        out.append(Ranked(suggestion, SUGGESTED, why))
    rest = [p for p in present if p is not suggestion]
    for p in sorted((p for p in rest if team and p.team == team), key=_load_key):
        out.append(Ranked(p, TEAM, f"same team as the queue ({team})"))
    for p in sorted((p for p in rest if not (team and p.team == team)), key=_load_key):
        out.append(Ranked(p, OTHERS, "others"))
    for p in away:
        out.append(Ranked(p, AWAY, "away"))
    return out
