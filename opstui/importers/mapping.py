"""The mapping from a source's words to ours: groups/projects to queues, states to
workflow states (with categories), priority labels, people, and which columns are kept.

A mapping file (TOML) is explicit and overrides everything.  A section the file does
not have is derived from the source by fixed rules (the importer's defaults for states
and priorities, slugs and handles derived from names), and every derived entry is
reported, so nothing is guessed silently; ``--write-mapping`` saves the mapping used
so that it can be reviewed, edited and passed back with ``--mapping``.

Inside a section the file does have, a value the section does not list is an error.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..domain.models import STATE_CATEGORIES
from .model import ImportError_

#: A state mapped to ``keep``: rows in that state change nothing about the state.
KEEP = "keep"
SECTIONS = ("import", "queues", "states", "priorities", "people", "fields", "columns")
IMPORT_KEYS = {"tz", "date_format", "workflow", "kind", "encoding", "delimiter", "pause_waiting"}


@dataclass(frozen=True)
class StateMap:
    state: str
    category: str | None  # None: take the category from an existing workflow


@dataclass(frozen=True)
class QueueMap:
    slug: str
    name: str
    prefix: str | None = None


@dataclass
class Mapping:
    file: str | None = None
    tz: str | None = None
    date_format: str | None = None
    workflow: str | None = None
    kind: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    pause_waiting: bool = True
    queues: dict[str, QueueMap] | None = None
    states: dict[str, StateMap] | None = None
    priorities: dict[str, int] | None = None
    people: dict[str, str] | None = None
    keep_fields: list[str] | None = None
    ignore_fields: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.tz or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportError_(f"unknown time zone {self.tz!r} (e.g. Europe/Amsterdam)") from None


def _where(file: str, section: str, key: str | None = None) -> str:
    return f"{file}: [{section}]" + (f" {key!r}" if key is not None else "")


def _parse_priority(value: Any, where: str) -> int:
    text = str(value).strip().upper().removeprefix("P")
    if text not in {"1", "2", "3", "4"}:
        raise ImportError_(f"{where}: priority must be 1..4 or P1..P4 (got {value!r})")
    return int(text)


def load_mapping(path: str | Path) -> Mapping:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportError_(f"{p}: no such mapping file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{p}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ImportError_(f"{p.name}: not valid TOML: {exc}") from None
    return mapping_from_data(data, p.name)


def mapping_from_data(data: dict[str, Any], file: str = "<mapping>") -> Mapping:
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ImportError_(
            f"{file}: unknown section [{unknown[0]}] (sections: {', '.join(SECTIONS)})"
        )
    m = Mapping(file=file)
    imp = data.get("import", {})
    bad = sorted(set(imp) - IMPORT_KEYS)
    if bad:
        raise ImportError_(
            f"{_where(file, 'import')}: unknown key {bad[0]!r} (keys: {', '.join(sorted(IMPORT_KEYS))})"
        )
    for k in IMPORT_KEYS - {"pause_waiting"}:
        if k in imp:
            setattr(m, k, str(imp[k]))
    m.pause_waiting = bool(imp.get("pause_waiting", True))
    if "queues" in data:
        m.queues = {}
        for src, v in data["queues"].items():
            where = _where(file, "queues", src)
            if isinstance(v, str):
                m.queues[src] = QueueMap(v.strip().lower(), src)
            elif isinstance(v, dict) and v.get("slug"):
                extra = sorted(set(v) - {"slug", "name", "prefix"})
                if extra:
                    raise ImportError_(f"{where}: unknown key {extra[0]!r} (slug, name, prefix)")
                m.queues[src] = QueueMap(
                    str(v["slug"]).strip().lower(), str(v.get("name") or src), v.get("prefix")
                )
            else:
                raise ImportError_(f"{where}: give a queue slug or {{slug=, name=, prefix=}}")
    if "states" in data:
        m.states = {}
        for src, v in data["states"].items():
            where = _where(file, "states", src)
            if isinstance(v, str):
                m.states[src] = StateMap(v.strip(), None)
            elif isinstance(v, dict) and v.get("state"):
                cat = v.get("category")
                if cat is not None and cat not in STATE_CATEGORIES:
                    raise ImportError_(
                        f"{where}: category {cat!r} is not one of {', '.join(STATE_CATEGORIES)}"
                    )
                m.states[src] = StateMap(str(v["state"]).strip(), cat)
            else:
                raise ImportError_(f"{where}: give a state name or {{state=, category=}}")
    if "priorities" in data:
        m.priorities = {
            src: _parse_priority(v, _where(file, "priorities", src))
            for src, v in data["priorities"].items()
        }
    if "people" in data:
        m.people = {}
        for src, v in data["people"].items():
            if not isinstance(v, str) or not HANDLE_RE.match(v.strip()):
                raise ImportError_(
                    f"{_where(file, 'people', src)}: {v!r} is not a handle "
                    "(lower case letters, digits, . _ -)"
                )
            m.people[src] = v.strip()
    fields = data.get("fields", {})
    bad = sorted(set(fields) - {"keep", "ignore"})
    if bad:
        raise ImportError_(f"{_where(file, 'fields')}: unknown key {bad[0]!r} (keep, ignore)")
    if "keep" in fields:
        m.keep_fields = [str(f) for f in fields["keep"]]
    m.ignore_fields = [str(f) for f in fields.get("ignore", [])]
    m.columns = {str(k): str(v) for k, v in data.get("columns", {}).items()}
    return m


# --- derivation: deterministic names from source labels ------------------------------

HANDLE_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


def _ascii_words(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def derive_name(text: str, fallback: str) -> str:
    """``Resolver 149`` -> ``resolver-149``; ``Ünal Öz`` -> ``unal-oz``; a leading digit
    gets ``fallback-`` in front.  At most 32 characters."""
    base = _ascii_words(text) or fallback
    if not base[0].isalpha():
        base = f"{fallback}-{base}"
    return base[:32].rstrip("-")


def unique_names(
    sources: list[str], taken: set[str], fallback: str
) -> tuple[dict[str, str], list[str]]:
    """Derive a name for each source label (sorted, so the result never depends on row
    order); a collision gets ``-2``, ``-3``...  Returns the names and what was resolved."""
    out: dict[str, str] = {}
    notes: list[str] = []
    used = set(taken)
    for src in sorted(set(sources)):
        base = derive_name(src, fallback)
        name, n = base, 1
        while name in used:
            n += 1
            suffix = f"-{n}"
            name = base[: 32 - len(suffix)] + suffix
        if n > 1:
            notes.append(f"{src!r} -> {name} ({base} was taken)")
        used.add(name)
        out[src] = name
    return out, notes


def derive_prefix(name: str, taken: set[str]) -> str:
    """``Group 56`` -> ``G56``, ``Service Desk`` -> ``SD``; unique among ``taken``."""
    words = re.findall(r"[A-Za-z]+|[0-9]+", unicodedata.normalize("NFKD", name))
    letters = "".join(w[0] for w in words if w[0].isalpha()).upper()
    digits = "".join(w for w in words if w.isdigit())
    base = ((letters or "Q") + digits)[:8]
    prefix, n = base, 1
    while prefix in taken:
        n += 1
        prefix = (
            (base[: 8 - len(str(n))] + str(n)) if len(base) + len(str(n)) > 8 else base + str(n)
        )
        if prefix in taken and n > 1000:
            raise ImportError_(f"cannot derive a free key prefix for queue {name!r}")
    taken.add(prefix)
    return prefix


def mapping_toml(m: Mapping) -> dict[str, Any]:
    """The mapping as it was used, for ``--write-mapping``."""
    out: dict[str, Any] = {"import": {}}
    for k in ("tz", "date_format", "workflow", "kind", "encoding", "delimiter"):
        if getattr(m, k):
            out["import"][k] = getattr(m, k)
    out["import"]["pause_waiting"] = m.pause_waiting
    if m.columns:
        out["columns"] = dict(m.columns)
    if m.queues is not None:
        out["queues"] = {
            k: {"slug": v.slug, "name": v.name, **({"prefix": v.prefix} if v.prefix else {})}
            for k, v in sorted(m.queues.items())
        }
    if m.states is not None:
        out["states"] = {
            k: (
                v.state
                if v.category is None
                else ({"state": v.state, "category": v.category} if v.state != KEEP else KEEP)
            )
            for k, v in m.states.items()
        }
    if m.priorities is not None:
        out["priorities"] = dict(m.priorities)
    if m.people is not None:
        out["people"] = dict(sorted(m.people.items()))
    fields: dict[str, Any] = {}
    if m.keep_fields is not None:
        fields["keep"] = list(m.keep_fields)
    if m.ignore_fields:
        fields["ignore"] = list(m.ignore_fields)
    if fields:
        out["fields"] = fields
    return out
