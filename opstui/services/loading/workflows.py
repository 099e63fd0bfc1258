"""The ``[[workflows]]`` section: workflows are replaced by name."""

from __future__ import annotations

from typing import Any

from ...domain.models import STATE_CATEGORIES
from ...errors import OpsError
from .. import workflows as workflow_svc
from .base import LoadError, Loading, boolean, known, no_repeats, require, tables

WORKFLOW_KEYS = {"name", "initial", "description", "states", "transitions"}
TRANSITION_KEYS = {"from", "to", "name", "requires_approval", "actions"}
STATE_KEYS = {"name", "label", "category"}


def load_workflows(ld: Loading, entries: list[dict[str, Any]]) -> None:
    no_repeats(ld, "workflows", entries, "name")
    for i, e in enumerate(entries):
        where = ld.where("workflows", i, e)
        known(e, WORKFLOW_KEYS, where)
        require(e, ("name", "states"), where)
        if not isinstance(e.get("description", ""), str):
            raise LoadError(f"{where}: description must be text")
        if not isinstance(e["states"], list):
            raise LoadError(f"{where}: states must be a list of names or tables")
        states: list[tuple[str, str, str]] = []
        for j, s in enumerate(e["states"]):
            if isinstance(s, str):
                s = {"name": s}
            if not isinstance(s, dict):
                raise LoadError(f"{where}: states[{j}] must be a name or a table")
            known(s, STATE_KEYS, f"{where} states[{j}]")
            if not s.get("name") or not isinstance(s["name"], str):
                raise LoadError(f"{where}: states[{j}] has no name")
            if not isinstance(s.get("label", ""), str):
                raise LoadError(f"{where}: states[{j}] label must be text")
            cat = s.get("category", "active")
            if cat not in STATE_CATEGORIES:
                raise LoadError(
                    f"{where}: state {s['name']!r} has category {cat!r} (one of {', '.join(STATE_CATEGORIES)})"
                )
            states.append((s["name"], s.get("label", ""), cat))
        names = [s[0] for s in states]
        if len(set(names)) != len(names):
            raise LoadError(f"{where}: a state name is repeated")
        initial = e.get("initial", names[0])
        if initial not in names:
            raise LoadError(f"{where}: initial state {initial!r} is not one of its states")
        transitions = tables(e, "transitions", where)
        for j, t in enumerate(transitions):
            twhere = f"{where} transitions[{j}]"
            known(t, TRANSITION_KEYS, twhere)
            boolean(t, "requires_approval", twhere, False)
            if not isinstance(t.get("name", ""), str):
                raise LoadError(f"{twhere}: name must be text")
            tables(t, "actions", twhere)
            for end in ("from", "to"):
                v = t.get(end)
                if v is None or (v not in names and not (end == "from" and v == "*")):
                    raise LoadError(
                        f"{where}: transitions[{j}] {end} {v!r} is not a state of this workflow"
                    )
        seen: set[tuple[str, str]] = set()
        for j, t in enumerate(transitions):
            pair = (t["from"], t["to"])
            if pair in seen:
                raise LoadError(f"{where}: transitions[{j}] repeats {pair[0]} -> {pair[1]}")
            seen.add(pair)
        try:
            workflow_svc.save_workflow_in(
                ld.ctx,
                name=e["name"],
                initial=initial,
                description=e.get("description", ""),
                states=states,
                transitions=transitions,
            )
        except OpsError as exc:
            raise LoadError(f"{where}: {exc}") from None
    ld.report.counts["workflows"] = len(entries)
