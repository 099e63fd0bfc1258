"""Small text forms the review's screen and reports share (durations, changes, bars)."""

from __future__ import annotations


def hours_text(h: float | None) -> str:
    if h is None:
        return "-"
    if h < 1:
        return f"{h * 60:.0f}m"
    if h < 48:
        return f"{h:.1f}h"
    return f"{h / 24:.1f}d"


def margin_text(seconds: float | None) -> str:
    return "-" if seconds is None else hours_text(seconds / 3600)


def change_text(now_v: float | None, before: float | None, *, unit: str = "") -> str:
    """``+3 (+25%)``, ``-1.5h (-20%)``, ``±0``; ``-`` when either side is unknown."""
    if now_v is None or before is None:
        return "-"
    diff = now_v - before
    sign = "+" if diff > 0 else ("-" if diff < 0 else "±")
    size = hours_text(abs(diff)) if unit == "h" else f"{abs(diff):g}"
    pct = f" ({diff / before:+.0%})" if before and diff else ""
    return f"{sign}{size}{pct}"


def bar(value: float, top: float, width: int = 20) -> str:
    if top <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(value / top * width))
