"""The event cursor shared by the watcher and a terminal's own writes.

Event ids are handed out inside SQLite's single write lock, so they are committed in id order:
when a reader sees the events after ``position`` in one snapshot, every event committed later
has a larger id than all of them.  That makes the cursor a simple high-water mark, with one
twist: a terminal applies its *own* write at once, before its watcher has read the events of
other terminals that may have been committed just before it.  Those own ids are remembered as
"applied ahead" of the mark (not skipped over), so the watcher still delivers the earlier
foreign events and then skips the own ones.  Every event is delivered exactly once, in order of
discovery.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> int: ...


E = TypeVar("E", bound=HasId)


class EventCursor:
    """Thread-safe "what has this terminal applied" record.

    ``position``: every event with ``id <= position`` has been applied.
    ``claim_read(events)``: events from a *complete* read of ``id > position`` (possibly cut
    at a limit; still a prefix): returns the ones not applied yet and advances ``position``.
    ``claim_own(events)``: events of this terminal's own committed write: returns the ones not
    applied yet; they advance ``position`` only if nothing can be missing before them.
    """

    def __init__(self, position: int = 0) -> None:
        self._lock = threading.Lock()
        self._position = int(position)
        self._ahead: set[int] = set()

    def __repr__(self) -> str:
        return f"EventCursor(position={self._position}, ahead={len(self._ahead)})"

    @property
    def position(self) -> int:
        with self._lock:
            return self._position

    def is_applied(self, event_id: int) -> bool:
        with self._lock:
            return event_id <= self._position or event_id in self._ahead

    def claim_read(self, events: Sequence[E], read_after: int | None = None) -> list[E]:
        """Claim the result of ``events_after(read_after)`` (``read_after`` defaults to now).

        If another thread moved the cursor between the read and this call, the events at or
        below the new position are dropped (they were applied by the other path).
        """
        with self._lock:
            if read_after is not None and read_after > self._position:
                # A read from a later position than ours would leave a hole: refuse it loudly.
                raise ValueError(f"read after {read_after} but cursor is at {self._position}")
            fresh = sorted(
                (e for e in events if e.id > self._position and e.id not in self._ahead),
                key=lambda e: e.id,
            )
            if events:
                self._advance(max(e.id for e in events))
            return fresh

    def claim_own(self, events: Iterable[E]) -> list[E]:
        """Claim the events of a write this terminal just committed."""
        with self._lock:
            fresh = sorted(
                (e for e in events if e.id > self._position and e.id not in self._ahead),
                key=lambda e: e.id,
            )
            for e in fresh:
                if e.id == self._position + 1:
                    self._advance(e.id)
                else:
                    self._ahead.add(e.id)
            return fresh

    def advance_to(self, position: int) -> None:
        """Everything up to ``position`` was applied by a complete read elsewhere (e.g. the
        app reading ``events_after`` once its own write committed)."""
        with self._lock:
            self._advance(int(position))

    def reset(self, position: int) -> None:
        """Start over at ``position`` (e.g. after the database file was replaced)."""
        with self._lock:
            self._position = int(position)
            self._ahead.clear()

    def _advance(self, to: int) -> None:
        if to > self._position:
            self._position = to
        # Own ids that are now contiguous with the mark move it on; old ones are forgotten.
        while self._position + 1 in self._ahead:
            self._position += 1
        if self._ahead:
            self._ahead = {i for i in self._ahead if i > self._position}
