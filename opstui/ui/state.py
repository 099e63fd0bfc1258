"""The app-owned state file: what the dashboard remembers between runs.

The user's ``config.toml`` is theirs and is never written.  Choices made inside the app
(theme picked in the command palette, compact layout toggled, a few layout settings) go
to a separate TOML file at :func:`opstui.paths.state_file` (``OPSTUI_STATE`` overrides).

* Written with tomli-w, atomically: a temporary file in the same directory, fsync, then
  ``os.replace``.  A crash or a full disk never leaves a half-written file, and several
  terminals saving at once each leave a complete file (last one wins).
* Read leniently: a missing, unreadable or corrupt state file gives the defaults (and a
  one-line ``problem``), never an exception: losing the remembered theme is harmless.
* Unknown keys (from a newer opstui) are kept on rewrite.

This module imports no Textual, so the CLI and tests can use it cheaply.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..paths import state_file

STATE_VERSION = 1
_HEADER = (
    "# Written by opstui to remember choices made in the app (theme, layout).\n"
    "# It is rewritten whenever those change: put settings in config.toml instead\n"
    "# (see `opstui config path`).\n"
)
#: The state file is tiny; refuse to parse anything absurdly large.
_MAX_BYTES = 256 * 1024

#: Values the ``layout`` table may hold (TOML scalars only).
LayoutValue = str | int | float | bool


@dataclass(frozen=True)
class AppStateFile:
    """What the app remembers.  ``None`` means "nothing remembered"."""

    #: Last theme picked in the app (command palette).
    theme: str | None = None
    #: Last compact-layout choice made in the app.
    compact: bool | None = None
    #: Free-form small layout settings owned by the dashboard (e.g. focused pane).
    layout: dict[str, LayoutValue] = field(default_factory=dict)
    #: Keys this version does not know, kept so that a rewrite does not drop them.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Why the file could not be read (it was then ignored); None when fine or absent.
    problem: str | None = field(default=None, compare=False)

    def to_toml_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data["version"] = STATE_VERSION
        if self.theme is not None:
            data["theme"] = self.theme
        if self.compact is not None:
            data["compact"] = self.compact
        if self.layout:
            data["layout"] = dict(self.layout)
        return data


def _from_dict(data: dict[str, Any], source: str) -> AppStateFile:
    problems: list[str] = []
    theme = data.pop("theme", None)
    if theme is not None and not (isinstance(theme, str) and theme.strip()):
        problems.append(f"theme must be a theme name (got {theme!r})")
        theme = None
    compact = data.pop("compact", None)
    if compact is not None and not isinstance(compact, bool):
        problems.append(f"compact must be true or false (got {compact!r})")
        compact = None
    layout_raw = data.pop("layout", {})
    layout: dict[str, LayoutValue] = {}
    if isinstance(layout_raw, dict):
        for key, value in layout_raw.items():
            if isinstance(value, str | int | float | bool):
                layout[str(key)] = value
            else:
                problems.append(f"layout.{key}: not a plain value")
    else:
        problems.append("layout must be a table")
    data.pop("version", None)
    problem = f"{source}: {'; '.join(problems)} (ignored)" if problems else None
    return AppStateFile(
        theme=theme.strip() if theme else None,
        compact=compact,
        layout=layout,
        extra=data,
        problem=problem,
    )


def load_state(path: Path | None = None) -> AppStateFile:
    """Read the state file.  Never raises: problems come back in ``.problem``."""
    path = path or state_file()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return AppStateFile()
    except OSError as exc:
        return AppStateFile(problem=f"{path}: cannot read: {exc.strerror or exc} (ignored)")
    if len(raw) > _MAX_BYTES:
        return AppStateFile(problem=f"{path}: larger than {_MAX_BYTES} bytes (ignored)")
    import tomllib  # only with a file to read (a first start has none)

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return AppStateFile(problem=f"{path}: not valid TOML: {exc} (ignored)")
    return _from_dict(data, str(path))


def save_state(state: AppStateFile, path: Path | None = None) -> Path:
    """Write ``state`` atomically; returns the path.  Raises OSError if it cannot."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    import tomli_w  # only when a choice is saved, never on the way to the first paint

    text = _HEADER + tomli_w.dumps(state.to_toml_dict())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def update_state(path: Path | None = None, **changes: Any) -> AppStateFile:
    """Read the file, change some fields, write it back; returns the new state.

    Re-reading just before writing keeps what other terminals saved meanwhile
    (e.g. one terminal changes the theme, another the layout).
    """
    current = load_state(path)
    layout = changes.pop("layout", None)
    new = replace(current, problem=None, **changes)
    if layout is not None:
        new = replace(new, layout={**current.layout, **layout})
    save_state(new, path)
    return new
