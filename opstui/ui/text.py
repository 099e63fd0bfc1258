"""Turning database strings into inert terminal text.

Everything from the database goes through :func:`literal`: control bytes are stripped (ESC
becomes a visible symbol) and the result is a ``rich.text.Text`` built from the plain
string, so markup such as ``[@click=app.quit]`` or ``[$accent]`` is never parsed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from rich.cells import cell_len
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


# --- names that share a prefix -------------------------------------------------------

ELLIPSIS = "\u2026"


def _head(text: str, cells: int) -> str:
    """The longest start of ``text`` at most ``cells`` wide."""
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out)


def _tail(text: str, cells: int) -> str:
    """The longest end of ``text`` at most ``cells`` wide."""
    return _head(text[::-1], cells)[::-1]


def _word_starts(name: str) -> list[int]:
    """Where the words of a name start: after a separator, and where letters turn into
    digits or back (``resolver-101`` -> 0, 9; ``db2prod`` -> 0, 2, 3)."""

    def kind(ch: str) -> int:
        return 1 if ch.isdigit() else 2 if ch.isalpha() else 0

    starts = []
    for i, ch in enumerate(name):
        if kind(ch) and (i == 0 or kind(name[i - 1]) != kind(ch)):
            starts.append(i)
    return starts or [0]


def _shared(names: Sequence[str]) -> dict[str, int]:
    """For each name, the longest prefix it shares with any other name (in characters).
    The most similar names are neighbours in sorted order."""
    order = sorted(names)
    out = dict.fromkeys(order, 0)
    for a, b in zip(order, order[1:], strict=False):
        n = len(os.path.commonprefix([a, b]))
        out[a] = max(out[a], n)
        out[b] = max(out[b], n)
    return out


def _middle(name: str, start: int, width: int) -> str:
    """``name`` in ``width`` cells keeping ``name[start:]`` (its distinctive end):
    ``resol…101``; when that end is too long, a window on it: ``…east-qu…``."""
    tail = name[start:]
    room = width - 1 - cell_len(tail)
    if room >= 1:
        return _head(name, room) + ELLIPSIS + tail
    if room == 0:
        return ELLIPSIS + tail
    return ELLIPSIS + _head(tail, width - 2) + ELLIPSIS


def short_names(names: Iterable[str], width: int) -> dict[str, str]:
    """Each name shortened to at most ``width`` terminal cells, keeping names that share
    a prefix apart: a name that fits is kept; one that differs from every other name
    within its first ``width - 1`` cells is cut at the end (``customer-o…``); one that
    shares a longer prefix keeps its distinctive part (the word where it differs from
    its closest name, to the end) after a middle ellipsis (``resol…101``, ``…101``).
    Where two results still collide, the one keeping the shortest end grows it by a
    word, until they differ.
    Distinct names give distinct results whenever their distinctive parts fit."""
    unique = sorted({str(n) for n in names})
    if width < 1:
        return dict.fromkeys(unique, "")
    out: dict[str, str] = {}
    shared = _shared(unique)
    starts: dict[str, list[int]] = {}
    pos: dict[str, int] = {}  # index into starts[name] of the kept part
    for name in unique:
        if cell_len(name) <= width:
            out[name] = name
        elif width < 3 or cell_len(name[: shared[name] + 1]) <= width - 1:
            out[name] = _head(name, width - 1) + ELLIPSIS
        else:
            starts[name] = [s for s in _word_starts(name) if s <= shared[name]] or [0]
            pos[name] = len(starts[name]) - 1
            out[name] = _middle(name, starts[name][pos[name]], width)
    while True:
        seen: dict[str, list[str]] = {}
        for name, short in out.items():
            seen.setdefault(short, []).append(name)
        grow = []
        for group in seen.values():
            growable = [n for n in group if pos.get(n, 0) > 0] if len(group) > 1 else []
            if growable:  # the names showing least of themselves give way first
                latest = max(starts[n][pos[n]] for n in growable)
                grow += [n for n in growable if starts[n][pos[n]] == latest]
        if not grow:
            return out
        for name in grow:
            pos[name] -= 1
            out[name] = _middle(name, starts[name][pos[name]], width)
