"""An imported item's origin and the source fields it keeps, as inert text."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from .text import literal


def _source(item: Any) -> dict[str, Any] | None:
    src = (getattr(item, "data", None) or {}).get("source")
    return src if isinstance(src, dict) and src.get("key") else None


def source_origin(item: Any) -> Text | None:
    """``servicenow INC0000045`` for an imported item, else None."""
    src = _source(item)
    if src is None:
        return None
    return literal(f"{src.get('system', '')} {src.get('key', '')}".strip())


def source_fields(item: Any) -> Text:
    """The named fields (and the source's own facts) an import kept; empty if none."""
    src = _source(item)
    out = Text(end="")
    if src is None:
        return out
    fields = dict(src.get("fields") or {})
    facts = dict(src.get("facts") or {})
    if not fields and not facts:
        return out
    out.append(f"\n\nSource fields ({src.get('system', '')})\n", style="bold")
    width = max(len(str(k)) for k in (*fields, *facts))
    for name, value in fields.items():
        out.append_text(literal(f"{name}".ljust(width), "dim"))
        out.append("  ")
        out.append_text(literal(value))
        out.append("\n")
    for name, value in facts.items():
        out.append_text(literal(f"{name}".ljust(width), "dim"))
        out.append("  ")
        out.append_text(literal(value))
        out.append("  (source fact)\n", style="dim italic")
    out.rstrip()
    return out
