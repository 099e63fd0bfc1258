"""One clock for the whole app, so tests and ``--now`` can freeze or shift time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Wall-clock time, optionally shifted or frozen.

    ``Clock()`` is real time.  ``Clock.frozen(t)`` always answers ``t``.
    ``Clock.starting_at(t)`` answers ``t`` now and moves on in real time from there
    (what ``--now`` gives a live dashboard, so countdowns still tick).
    """

    def __init__(self, offset: timedelta = timedelta(0), frozen_at: datetime | None = None):
        self._offset = offset
        self._frozen_at = frozen_at.astimezone(UTC) if frozen_at else None

    @classmethod
    def frozen(cls, at: datetime) -> Clock:
        return cls(frozen_at=at)

    @classmethod
    def starting_at(cls, at: datetime) -> Clock:
        return cls(offset=at.astimezone(UTC) - utcnow())

    @property
    def is_frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def is_real(self) -> bool:
        """Real time: neither frozen nor shifted (a what-if clock must not write history)."""
        return self._frozen_at is None and self._offset == timedelta(0)

    def now(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at
        return utcnow() + self._offset

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, delta: timedelta) -> None:
        """Move a frozen clock (tests)."""
        if self._frozen_at is None:
            self._offset += delta
        else:
            self._frozen_at += delta
