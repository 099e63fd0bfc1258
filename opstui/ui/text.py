"""Turning database strings into inert terminal text.

Everything from the database goes through :func:`literal`: control bytes are stripped (ESC
becomes a visible symbol) and the result is a ``rich.text.Text`` built from the plain
string, so markup such as ``[@click=app.quit]`` or ``[$accent]`` is never parsed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from ..domain.text import strip_controls


def clean(value: object, *, single_line: bool = True) -> str:
    """A plain string with control bytes removed (``None`` becomes '')."""
    if value is None:
        return ""
    return strip_controls(str(value), single_line=single_line)


def literal(value: object, style: str = "", *, single_line: bool = True) -> Text:
    """A Text that shows ``value`` exactly as written, never as markup."""
    return Text(clean(value, single_line=single_line), style=style, end="")


def duration(seconds: float) -> str:
    """Compact signed duration (at most 6 cells): ``12:34`` under an hour, ``3h05m``, ``2d04h``."""
    neg = seconds < 0
    s = int(abs(seconds))
    if s < 3600:
        text = f"{s // 60:02d}:{s % 60:02d}"
    elif s < 86400:
        text = f"{s // 3600}h{(s % 3600) // 60:02d}m"
    else:
        text = f"{s // 86400}d{(s % 86400) // 3600:02d}h"
    text = f"-{text}" if neg else text
    if len(text) > 6 and text[-1] in "mh":  # keep countdown columns six cells wide
        text = text[:-1]
    return text


def age(now: datetime, then: datetime | None) -> str:
    """How long ago: ``45m``, ``3h``, ``5d``."""
    if then is None:
        return "-"
    secs = max(0, int((now - then).total_seconds()))
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def hours(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value)}h"
    return f"{value:.1f}h"


def stamp(value: datetime | None, now: datetime | None = None) -> str:
    """A UTC time for detail views (date omitted when it is today)."""
    if value is None:
        return "-"
    v = value.astimezone(now.tzinfo if now else value.tzinfo)
    if now is not None and v.date() == now.date():
        return v.strftime("%H:%M")
    return v.strftime("%Y-%m-%d %H:%M")


def until(now: datetime, when: datetime) -> timedelta:
    return when - now
