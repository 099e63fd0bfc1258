"""Turning database strings into inert terminal text.

Everything from the database goes through :func:`literal`: control bytes are stripped (ESC
becomes a visible symbol) and the result is a ``rich.text.Text`` built from the plain
string, so markup such as ``[@click=app.quit]`` or ``[$accent]`` is never parsed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rich.text import Text

from ..domain.sla import format_remaining
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
    """A signed countdown in the one time format: ``45s``, ``5m``, ``2h05m``, ``3d04h``,
    ``-1d08h`` (see domain.sla.format_remaining)."""
    return format_remaining(seconds)


def age(now: datetime, then: datetime | None) -> str:
    """How long ago, in the same format to its largest unit (``45s``, ``5m``, ``2h``,
    ``3d``) so it fits four cells; ``-`` when unknown."""
    if then is None:
        return "-"
    text = format_remaining(max(0, int((now - then).total_seconds())))
    return re.match(r"\d+[smhd]", text).group(0)  # type: ignore[union-attr]


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
