"""Who else has an item open right now ("bob is viewing", "carol is editing a comment").

Presence is not data: it never goes into the database (no write load, no events).  Each
terminal that has an item open keeps one small file in a directory beside the database,
``<db>.presence/<host>-<pid>.json``, written only when what it has open changes and
removed when it closes the item or exits.  A reader lists that directory (a few stat
calls) and ignores files of processes that are gone (same host: the pid is checked), so a
killed terminal disappears at the next look too.  An idle terminal writes nothing.
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

#: A file from another host, not refreshed for this long, is left over from a crash.
FOREIGN_MAX_AGE = 12 * 3600.0


@dataclass(frozen=True)
class Viewer:
    who: str  # person handle, else the Unix login
    key: str
    activity: str  # "viewing", "editing a comment"...
    pid: int
    host: str

    @property
    def text(self) -> str:
        return f"{self.who} is {self.activity}"


def presence_dir(db_path: str | os.PathLike[str]) -> Path:
    path = Path(db_path)
    return path.with_name(path.name + ".presence")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


class Presence:
    """This terminal's presence, and a view of everyone else's."""

    def __init__(self, db_path: str | os.PathLike[str], who: str) -> None:
        self.dir = presence_dir(db_path)
        self.who = who
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.file = self.dir / f"{self.host}-{self.pid}.json"
        self._current: tuple[str, str] | None = None
        #: (name, mtime_ns, size) -> parsed viewer, so an unchanged file is not re-read
        self._cache: dict[str, tuple[int, int, Viewer | None]] = {}

    # --- mine ----------------------------------------------------------------------------

    def set(self, key: str | None, activity: str = "viewing") -> None:
        """Announce the item this terminal has open (None: none).  Writes only on change."""
        state = None if key is None else (key, activity)
        if state == self._current:
            return
        self._current = state
        if state is None:
            with suppress(FileNotFoundError):
                self.file.unlink()
            return
        try:
            self.dir.mkdir(exist_ok=True)
            tmp = self.file.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"who": self.who, "key": key, "activity": activity, "pid": self.pid})
            )
            os.replace(tmp, self.file)
        except OSError:
            self._current = None  # a read-only or full disk: presence is best effort

    def close(self) -> None:
        self.set(None)

    # --- theirs --------------------------------------------------------------------------

    def others(self) -> list[Viewer]:
        """Everyone else with an item open now (live processes only)."""
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return []
        out: list[Viewer] = []
        seen: set[str] = set()
        for entry in entries:
            name = entry.name
            if not name.endswith(".json") or name == self.file.name:
                continue
            seen.add(name)
            try:
                st = entry.stat()
            except OSError:
                continue
            cached = self._cache.get(name)
            if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
                viewer = cached[2]
            else:
                viewer = self._read(entry.path, name)
                self._cache[name] = (st.st_mtime_ns, st.st_size, viewer)
            if viewer is None:
                continue
            if viewer.host == self.host:
                if not _alive(viewer.pid):
                    with suppress(OSError):
                        os.unlink(entry.path)  # left by a killed terminal
                    continue
            elif _age(st.st_mtime) > FOREIGN_MAX_AGE:
                continue
            out.append(viewer)
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return sorted(out, key=lambda v: (v.key, v.who, v.pid))

    def _read(self, path: str, name: str) -> Viewer | None:
        try:
            data = json.loads(Path(path).read_text())
            host = name.rsplit("-", 1)[0]
            return Viewer(
                str(data["who"]), str(data["key"]), str(data["activity"]), int(data["pid"]), host
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def by_key(viewers: list[Viewer]) -> dict[str, tuple[Viewer, ...]]:
    out: dict[str, list[Viewer]] = {}
    for v in viewers:
        out.setdefault(v.key, []).append(v)
    return {k: tuple(v) for k, v in out.items()}


def describe(viewers: tuple[Viewer, ...] | list[Viewer]) -> str:
    """``bob is viewing · carol is editing a comment`` (one entry per person)."""
    seen: dict[str, Viewer] = {}
    for v in viewers:
        if v.who not in seen or v.activity != "viewing":
            seen[v.who] = v
    return " \u00b7 ".join(v.text for v in seen.values())


def _age(mtime: float) -> float:
    import time

    return time.time() - mtime
