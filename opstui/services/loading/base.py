"""What every load section shares: the error it raises, the report it fills, and the
cursor (:class:`Loading`) that names where in the file a problem is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...domain.clock import parse_instant
from ...errors import OpsError
from ..context import Ctx


class LoadError(OpsError):
    pass


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{n} {name.replace('_', ' ')}" for name, n in self.counts.items() if n]
        return ", ".join(parts) or "nothing"


@dataclass
class Loading:
    ctx: Ctx
    source: str
    shift: timedelta
    report: LoadReport

    def where(self, section: str, index: int, entry: dict[str, Any], name_key: str = "name") -> str:
        name = next(
            (
                entry[k]
                for k in (name_key, "handle", "slug", "key", "name", "title")
                if entry.get(k)
            ),
            None,
        )
        label = f" ({name})" if name else ""
        return f"{self.source}: {section}[{index}]{label}"

    def when(self, value: Any, where: str, key: str) -> datetime:
        try:
            if isinstance(value, datetime):
                instant = parse_instant(value.isoformat())
            else:
                instant = parse_instant(str(value))
        except ValueError:
            raise LoadError(f"{where}: {key} is not an ISO 8601 time: {value!r}") from None
        return instant + self.shift


def require(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for k in keys:
        if entry.get(k) in (None, ""):
            raise LoadError(f"{where}: missing required key {k!r}")


def no_repeats(ld: Loading, section: str, entries: list[dict[str, Any]], key: str) -> None:
    seen: dict[Any, int] = {}
    for i, e in enumerate(entries):
        value = e.get(key)
        if value is not None and value in seen:
            raise LoadError(
                f"{ld.where(section, i, e, key)}: {key} {value!r} repeats {section}[{seen[value]}]"
            )
        seen[value] = i


def known(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise LoadError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def string_list(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LoadError(f"{where}: {key} must be a list of names")
    return [v.strip() for v in value]


def boolean(entry: dict[str, Any], key: str, where: str, default: bool) -> bool:
    """A true/false key: any other value (``"no"``, 0) is an error, never guessed."""
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise LoadError(f"{where}: {key} must be true or false (got {value!r})")
    return value


def tables(entry: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """A key holding a list of tables (``history``, ``away``, ``states``...)."""
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise LoadError(f"{where}: {key} must be a list of tables")
    return value
