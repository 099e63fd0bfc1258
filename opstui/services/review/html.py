"""The review as one self-contained HTML file (``opstui review --html``, and the screen's
export): the Markdown report's content, section by section, with the charts drawn as
inline SVG.  No scripts, no external files, every text escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

from .exports import to_markdown
from .records import WeeklyReview

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } em { color: #666; }
svg { display: block; margin: .5em 0 1em; } svg text { font: 11px system-ui, sans-serif; }
"""


def bars_svg(title: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (one bar per label)."""
    width, bar_h, left = 560, 18, 110
    top = max([*values, 0.0]) or 1.0
    height = 24 + bar_h * len(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 22 + i * bar_h
        w = 0 if value <= 0 else max(1, round(value / top * (width - left - 70)))
        parts += [
            f'<text x="0" y="{y + 12}">{html.escape(label)}</text>',
            f'<rect x="{left}" y="{y + 2}" width="{w}" height="{bar_h - 5}" fill="#4a7bd0"/>',
            f'<text x="{left + w + 4}" y="{y + 12}">{value:g}{html.escape(unit)}</text>',
        ]
    return "\n".join([*parts, "</svg>"])


def _cells(line: str) -> list[str]:
    body = line.strip()[1:-1]
    out, cell, escaped = [], "", False
    for ch in body:
        if escaped:
            cell += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            out.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return [*out, cell.strip()]


def markdown_to_html(md: str) -> str:
    """The subset of Markdown the review report uses: headings, pipe tables, italic
    one-line notes, bold and plain paragraphs."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not lines[i].startswith("|---"):
                    rows.append(_cells(lines[i]))
                i += 1
            head, *body = rows
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head))
            for r in body:
                out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
            out.append("</table>")
            continue
        elif line.startswith("_") and line.endswith("_") and len(line) > 1:
            out.append(f"<p><em>{html.escape(line[1:-1])}</em></p>")
        elif line.strip():
            text = html.escape(line)
            while text.count("**") >= 2:
                text = text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
            out.append(f"<p>{text}</p>")
        i += 1
    return "\n".join(out)


def to_html(rv: WeeklyReview) -> str:
    """The whole report: the Markdown content as HTML, then the charts."""
    cap = rv.capacity
    charts = [
        bars_svg(
            "Done per week",
            [f"{w.start:%d %b}" for w in rv.weeks],
            [float(w.done) for w in rv.weeks],
        ),
        bars_svg(
            "Load % of available hours",
            [p.handle for p in cap.people],
            [round((p.utilisation or 0) * 100) for p in cap.people],
            "%",
        ),
    ]
    title = f"Weekly review {rv.start:%Y-%m-%d} to {rv.end:%Y-%m-%d}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{STYLE}</style></head><body>",
            markdown_to_html(to_markdown(rv)),
            "<h2>Charts</h2>",
            *charts,
            "</body></html>",
            "",
        ]
    )
