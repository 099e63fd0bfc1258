"""Reading a load file and running its sections in dependency order, all-or-nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ...domain.clock import parse_instant
from ...store.engine import Database
from ..context import writing
from ..sla.compute import recompute_in
from .actions import validate_workflow_actions
from .base import LoadError, Loading, LoadReport
from .calendars import load_calendars
from .hooks import check_private, load_hooks
from .items import load_items
from .people import load_people
from .processes import load_processes
from .queues import load_queues
from .sla_policies import load_sla_policies
from .workflows import load_workflows

SECTIONS = (
    "people",
    "workflows",
    "queues",
    "calendars",
    "sla_policies",
    "processes",
    "hooks",
    "items",
)

LOADERS: dict[str, Callable[[Loading, list[dict[str, Any]]], None]] = {
    "people": load_people,
    "workflows": load_workflows,
    "queues": load_queues,
    "calendars": load_calendars,
    "sla_policies": load_sla_policies,
    "processes": load_processes,
    "hooks": load_hooks,
    "items": load_items,
}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory") from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied") from None
    except tomllib.TOMLDecodeError as exc:
        raise LoadError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{path}: not UTF-8 text") from None
    return data


def load_file(
    db: Database, path: str | Path, *, shift: timedelta = timedelta(0), dry_run: bool = False
) -> LoadReport:
    """Load a TOML file all-or-nothing.  ``shift`` moves every time in the file."""
    path = Path(path)
    data = read_toml(path)
    check_private(path, data)
    return load_data(db, data, source=path.name, shift=shift, dry_run=dry_run)


def load_data(
    db: Database,
    data: dict[str, Any],
    *,
    source: str = "<data>",
    shift: timedelta = timedelta(0),
    dry_run: bool = False,
) -> LoadReport:
    unknown = sorted(set(data) - set(SECTIONS) - {"anchor", "description"})
    if unknown:
        raise LoadError(
            f"{source}: unknown section {unknown[0]!r} (sections: {', '.join(SECTIONS)})"
        )
    for name in SECTIONS:
        if name in data and not isinstance(data[name], list):
            raise LoadError(f"{source}: {name} must be an array of tables ([[{name}]])")
    report = LoadReport()
    with writing(db, dry_run=dry_run) as ctx:
        ld = Loading(ctx=ctx, source=source, shift=shift, report=report)
        for name in SECTIONS:
            if data.get(name):
                LOADERS[name](ld, data[name])
            if name == "queues" and any(data.get(s) for s in ("people", "workflows", "queues")):
                # actions name queues and people: check them once both are loaded
                validate_workflow_actions(ld)
        if data.get("sla_policies") or data.get("calendars"):
            recompute_in(ctx)  # open items already in the file follow the new rules at once
        ctx.record("load", None, f"{source}: {report.summary()}", entity="load")
    db.forget_person()
    return report


def anchor_of(path: str | Path) -> datetime | None:
    data = read_toml(Path(path))
    if "anchor" not in data:
        return None
    value = data["anchor"]
    return parse_instant(value.isoformat() if isinstance(value, datetime) else str(value))
