"""Source times: local wall-clock text in a named zone, turned into UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class DateParser:
    """Tries ``formats`` in order (``strptime`` syntax, English month names); the first
    that matches wins for this value.  Values with their own offset keep it."""

    def __init__(self, formats: list[str], zone: ZoneInfo):
        self.formats = formats
        self.zone = zone
        self._cache: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        value = text.strip()
        for fmt in self.formats:
            try:
                parsed = datetime.strptime(value, fmt)
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self.zone)
            result = parsed.astimezone(UTC)
            if len(self._cache) < 200_000:
                self._cache[text] = result
            return result
        shown = " or ".join(f.replace("%", "") for f in self.formats[:3])
        raise ValueError(
            f"{text!r} is not a date in the expected form ({shown}; see --date-format)"
        )
