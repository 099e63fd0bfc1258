"""Making untrusted text safe to show: no control bytes ever reach the terminal."""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, and C1 controls (U+0080..U+009F: \x9b is CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def strip_controls(text: str | None, *, single_line: bool = True) -> str:
    """Remove control characters.  ``single_line`` also folds tabs/newlines to spaces.

    ESC becomes a visible ``\u241b`` (SYMBOL FOR ESCAPE) so a payload is seen, not run.
    """
    if not text:
        return ""
    text = text.replace("\x1b", "\u241b")
    if single_line:
        return _CONTROLS_ALL.sub(" ", text)
    return _CONTROLS.sub("", text)


def one_line(text: str | None, width: int | None = None) -> str:
    out = " ".join(strip_controls(text).split())
    if width is not None and len(out) > width:
        out = out[: max(0, width - 1)] + "\u2026"
    return out
