"""Linux inotify through ctypes: wait for a change in one directory without waking up.

watchfiles' Rust loop sleeps ``step`` ms, wakes (taking the GIL, checking the stop event),
and sleeps again, forever: with the 10 ms step that keeps propagation fast, that is 100
wake-ups a second, most of an idle dashboard's CPU (benchmarks/idle.py).  :class:`DirNotify`
has the same ``watch(debounce, step, timeout, stop_event)`` call as watchfiles'
``RustNotify`` and the same batching (after a change, wait until ``step`` ms pass without
another one, at most ``debounce`` ms), but it sleeps in ``select`` until the kernel reports a
change, the timeout (the safety poll) passes, or :meth:`wake` is called: an idle watcher
costs nothing between safety polls, and a change is seen as soon as it happens.

:func:`open_notify` returns None where inotify is not available (not Linux, no libc
symbol); the watcher then uses watchfiles as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
_HEADER = struct.Struct("iIII")
#: watchfiles' "modified" change code, so callers can treat both notifiers alike.
MODIFIED = 2

_libc: Any = None


def _load_libc() -> Any:
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        _libc = libc
    return _libc


class DirNotify:
    """Changes to the entries of one directory (not recursive).  Close when done."""

    def __init__(
        self, directory: str | os.PathLike[str], names: frozenset[str] | None = None
    ) -> None:
        libc = _load_libc()
        self.directory = os.fspath(directory)
        #: Only changes to these entries count (None: all); others are read and dropped
        #: inside :meth:`watch`, so a busy shared directory does not wake the caller.
        self.names = names
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        wd = libc.inotify_add_watch(fd, os.fsencode(self.directory), _MASK)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, f"inotify_add_watch {self.directory}: {os.strerror(err)}")
        self._fd = fd
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._closed = False
        self._lock = threading.Lock()

    def __enter__(self) -> DirNotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wake(self) -> None:
        """End a :meth:`watch` in progress (from any thread) so it sees its stop event."""
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._wake_w, b"x")
            except OSError:  # pipe full: a wake-up is pending already
                pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in (self._fd, self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _read(self, into: set[tuple[int, str]]) -> int:
        """Add the pending events' paths to ``into``; how many events there were."""
        try:
            data = os.read(self._fd, 64 * 1024)
        except BlockingIOError:
            return 0
        pos = n = 0
        while pos + _HEADER.size <= len(data):
            _wd, mask, _cookie, length = _HEADER.unpack_from(data, pos)
            pos += _HEADER.size
            name = data[pos : pos + length].split(b"\0", 1)[0]
            pos += length
            n += 1
            if mask & IN_Q_OVERFLOW:  # lost events: report the directory itself
                into.add((MODIFIED, self.directory))
            elif name and not mask & IN_IGNORED:
                text = os.fsdecode(name)
                if self.names is None or text in self.names:
                    into.add((MODIFIED, os.path.join(self.directory, text)))
        return n

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except OSError:
            pass

    def watch(
        self, debounce_ms: int, step_ms: int, timeout_ms: int, stop_event: Any
    ) -> set[tuple[int, str]] | str:
        """Block until changes (returned as ``{(2, path), ...}``), ``"timeout"`` after
        ``timeout_ms`` without any, or ``"stop"`` once ``stop_event`` is set (see
        :meth:`wake`)."""
        changes: set[tuple[int, str]] = set()
        start = time.monotonic()
        first: float | None = None
        step, debounce, timeout = step_ms / 1000, debounce_ms / 1000, timeout_ms / 1000
        while True:
            if stop_event is not None and stop_event.is_set():
                return "stop"
            now = time.monotonic()
            if first is None:
                wait = timeout - (now - start)
                if wait <= 0:
                    return "timeout"
            else:
                wait = min(step, debounce - (now - first))
                if wait <= 0:
                    return changes
            try:
                ready, _, _ = select.select([self._fd, self._wake_r], [], [], wait)
            except (OSError, ValueError):  # closed under us
                return "stop"
            if self._wake_r in ready:
                self._drain_wake()
                continue
            if self._fd in ready:
                before = len(changes)
                if self._read(changes) and (len(changes) != before or first is not None):
                    if first is None:
                        first = time.monotonic()
                    continue  # a change: wait for a quiet step after it
                continue
            if first is not None:
                return changes  # a quiet step after the last change


def open_notify(
    directory: str | os.PathLike[str] | Path, names: frozenset[str] | None = None
) -> DirNotify | None:
    """A :class:`DirNotify` on Linux, else None (use watchfiles)."""
    if not sys.platform.startswith("linux") or os.environ.get("OPSTUI_WATCH_BACKEND") == (
        "watchfiles"
    ):
        return None
    try:
        _load_libc()
    except (OSError, AttributeError):
        return None
    return DirNotify(directory, names)
