"""The weeks the review screen's "as of" picker offers: this one, then past weeks.

A past week is reviewed on the board as it stood at its end (``build.weekly_review``
rebuilds it from the event log), so its states are that week's and no later event shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from .records import WEEK


@dataclass(frozen=True)
class WeekChoice:
    #: What ``weekly_review(week=...)`` takes: a Monday (ISO date), or "" for the last 7 days.
    value: str
    label: str
    detail: str


def week_choices(now: datetime, weeks: int = 8) -> list[WeekChoice]:
    """The last seven days, then the ``weeks`` calendar weeks (Monday 00:00 UTC) before
    this one, newest first."""
    out = [WeekChoice("", "last 7 days", "up to now")]
    monday = datetime.combine(now.astimezone(UTC).date(), time(0), UTC)
    monday -= timedelta(days=monday.weekday())
    for n in range(weeks + 1):
        start = monday - n * WEEK
        end = start + WEEK
        if start >= now:
            continue
        _year, number, _ = start.isocalendar()
        if end <= now:
            detail = f"as of {end - timedelta(minutes=1):%d %b %H:%M}"
        else:
            detail = "this week so far"
        out.append(
            WeekChoice(
                start.date().isoformat(),
                f"W{number:02d} {start:%d}–{end - timedelta(days=1):%d %b}",
                detail,
            )
        )
    return out
