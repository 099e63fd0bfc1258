"""Reading export CSVs as the tools write them: a UTF-8 BOM or UTF-16, ``,`` ``;`` or tab
separators, repeated column names (Jira's multi-value fields), blank lines and footer rows.

Every row keeps the line it started on, so that every problem names file and line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .model import ImportError_, Problem

csv.field_size_limit(16 * 1024 * 1024)


class Row:
    """One source row: its first line and cells, read by column name (a repeated column
    name gives several values)."""

    __slots__ = ("line", "_cells", "_index")

    def __init__(self, line: int, cells: list[str], index: dict[str, tuple[int, ...]]):
        self.line = line
        self._cells = cells
        self._index = index

    def get(self, name: str, nulls: tuple[str, ...] = ()) -> str | None:
        """The first non-empty value of column ``name`` (None if empty, null or absent)."""
        cells = self._cells
        for i in self._index.get(name, ()):
            if i < len(cells):
                value = cells[i].strip()
                if value and value not in nulls:
                    return value
        return None

    @property
    def cells(self) -> list[str]:
        """The cells in column order: one per column, stripped, null tokens empty."""
        return self._cells

    def cell(self, index: int | None, nulls: tuple[str, ...] = ()) -> str | None:
        """The value at column position ``index`` (see :meth:`Table.column`), or None."""
        if index is None or index >= len(self._cells):
            return None
        value = self._cells[index].strip()
        return value if value and value not in nulls else None

    def all(self, name: str, nulls: tuple[str, ...] = ()) -> list[str]:
        out = []
        for i in self._index.get(name, ()):
            if i < len(self._cells):
                value = self._cells[i].strip()
                if value and value not in nulls:
                    out.append(value)
        return out


@dataclass
class Table:
    file: str
    headers: list[str]
    rows: list[Row]
    problems: list[Problem]
    delimiter: str
    encoding: str

    def column(self, name: str) -> int | None:
        """Position of the first column called ``name`` (None if there is none)."""
        try:
            return self.headers.index(name)
        except ValueError:
            return None


def _decode(raw: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise ImportError_(f"{name}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise ImportError_(
                f"{name}: not {encoding} text (byte {raw[exc.start]:#04x} at offset {exc.start})"
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ImportError_(
            f"{name}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); name the file's "
            "encoding with --encoding (Excel on Windows writes cp1252)"
        ) from None


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts: dict[str, int] = {}
    for sep in (",", ";", "\t", "|"):
        quoted = False
        n = 0
        for ch in header:
            if ch == '"':
                quoted = not quoted
            elif ch == sep and not quoted:
                n += 1
        counts[sep] = n
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    nulls: tuple[str, ...] = (),
) -> Table:
    """Read a CSV export.  Rows with more cells than headers are errors; trailing rows with
    one filled cell (a tool's "exported by ... at ..." footer) are reported as skipped."""
    p = Path(path)
    name = p.name
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ImportError_(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImportError_(f"{p}: is a directory") from None
    except PermissionError:
        raise ImportError_(f"{p}: permission denied") from None
    text, used = _decode(raw, name, encoding)
    if "\x00" in text:
        raise ImportError_(f"{name}: holds NUL bytes; is it a spreadsheet rather than a CSV?")
    sep = delimiter or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    problems: list[Problem] = []
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportError_(f"{name}: empty file") from None
    except csv.Error as exc:
        raise ImportError_(f"{name}:1: {exc}") from None
    headers = [h.strip() for h in headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportError_(f"{name}:1: no column names in the first line")
    raw_rows: list[tuple[int, list[str]]] = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportError_(f"{name}:{line}: {exc}") from None
        start, line = line, reader.line_num + 1
        if not "".join(cells).strip():
            continue
        raw_rows.append((start, cells))
    # Footer rows: at the end, rows with a single filled cell.
    while raw_rows and sum(1 for c in raw_rows[-1][1] if c.strip()) == 1 and len(headers) > 2:
        start, cells = raw_rows.pop()
        footer = next(c for c in cells if c.strip()).strip()
        problems.append(Problem(name, start, f"footer row skipped: {footer[:60]!r}", "skipped"))
    index: dict[str, tuple[int, ...]] = {}
    for i, h in enumerate(headers):
        index[h] = (*index.get(h, ()), i)
    width = len(headers)
    null_set = frozenset(nulls)
    rows: list[Row] = []
    strip = str.strip
    for start, cells in raw_rows:
        if len(cells) != width:
            if len(cells) > width and "".join(cells[width:]).strip():
                problems.append(Problem(name, start, f"{len(cells)} cells for {width} columns"))
                continue
            cells = cells[:width] + [""] * (width - len(cells))
        # One cell per column, stripped; null tokens become empty.
        cells = list(map(strip, cells))
        if null_set and not null_set.isdisjoint(cells):
            cells = ["" if c in null_set else c for c in cells]
        rows.append(Row(start, cells, index))
    problems.sort(key=lambda p: p.line or 0)
    return Table(name, headers, rows, problems, sep, used)
