"""Writing the review's report files (the screen's export)."""

from __future__ import annotations

from pathlib import Path

from .exports import to_markdown
from .html import to_html
from .records import WeeklyReview


def export_files(rv: WeeklyReview, directory: Path) -> list[Path]:
    """Write ``weekly-review-START.md`` and ``.html`` into ``directory``; their paths."""
    stem = f"weekly-review-{rv.start:%Y-%m-%d}"
    out = []
    for suffix, text in ((".md", to_markdown(rv)), (".html", to_html(rv))):
        path = directory / f"{stem}{suffix}"
        path.write_text(text, encoding="utf-8")
        out.append(path.resolve())
    return out
