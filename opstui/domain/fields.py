"""Parsers and checks for the values a user types: titles, priorities, estimates,
handles, capacities, skills and dates.  Pure functions; they raise ``ValidationError``
with a one-line message."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ..errors import ValidationError

MAX_TITLE = 500
MAX_BODY = 100_000


def clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError("a title cannot be empty")
    if len(title) > MAX_TITLE:
        raise ValidationError(f"a title is at most {MAX_TITLE} characters (got {len(title)})")
    return title


def clean_body(body: str | None) -> str:
    body = body or ""
    if len(body) > MAX_BODY:
        raise ValidationError(f"a body is at most {MAX_BODY} characters")
    return body


def parse_priority(value: int | str) -> int:
    text = str(value).strip().upper().removeprefix("P")
    if text not in {"1", "2", "3", "4"}:
        raise ValidationError(f"priority must be P1..P4 (got {value!r})")
    return int(text)


def parse_estimate(value: float | str | None) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "-")):
        return None
    text = str(value).strip().lower().removesuffix("h")
    try:
        hours = float(text)
    except ValueError:
        raise ValidationError(f"estimate must be a number of hours (got {value!r})") from None
    if hours < 0 or hours != hours or hours > 10_000:
        raise ValidationError(f"estimate must be between 0 and 10000 hours (got {value!r})")
    return hours


HANDLE_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")


def check_handle(handle: str) -> str:
    handle = (handle or "").strip()
    if not HANDLE_RE.match(handle):
        raise ValidationError(
            f"handle {handle!r} must be a login-style name: lower case letters, digits, . _ -"
        )
    return handle


def parse_capacity(value: Any) -> float:
    try:
        hours = float(str(value).strip().lower().removesuffix("h"))
    except ValueError:
        raise ValidationError(f"capacity must be hours per week (got {value!r})") from None
    if not 0 <= hours <= 168:
        raise ValidationError(f"capacity must be between 0 and 168 hours a week (got {value!r})")
    return hours


def parse_skills(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    skills = sorted({str(s).strip().lower() for s in value or [] if str(s).strip()})
    return skills


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {value!r}") from None
