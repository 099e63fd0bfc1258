"""User configuration: one typed model, read with tomllib, never rewritten.

Precedence for every setting: command-line flag > environment > config file > default.

* The file is TOML at :func:`opstui.paths.config_file` (``OPSTUI_CONFIG`` overrides the path).
  A missing file means defaults.  A bad file raises :class:`ConfigError` naming the file,
  every bad key and the reason, in one line; callers start with defaults and show it.
* Every key can also be set in the environment as ``OPSTUI_<KEY>`` (``OPSTUI_THEME``,
  ``OPSTUI_STUCK_DAYS``...).  An empty variable counts as unset.
* Flags are applied last with :func:`with_overrides`.
* ``Config.origin(key)`` tells where each value came from ("default", "file", "env", "flag").

What the app remembers by itself (theme picked in the palette, layout) lives in the
separate state file (``opstui.ui.state``); this file is only ever read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import OpsError
from .paths import config_file


class ConfigError(OpsError):
    pass


#: Keys of a saved view's filter table and the sorts it may name.
VIEW_FILTER_KEYS = ("queue", "owner", "status", "priority", "kind", "text", "open", "sla")
VIEW_SORTS = ("urgency", "priority", "age", "updated")


@dataclass(frozen=True)
class View:
    """A named item list: ``[[views]] name = "..."  filter = {...}  sort = "urgency"``.
    ``owner = "me"`` means whoever runs opstui."""

    name: str
    filter: tuple[tuple[str, Any], ...] = ()
    sort: str = "urgency"


def parse_views(value: Any, problems: list[str]) -> tuple[View, ...]:
    """``[[views]]`` tables; each problem is added as ``views[N]: reason``."""
    if not isinstance(value, list):
        problems.append("views: must be an array of tables ([[views]])")
        return ()
    out = []
    for n, entry in enumerate(value, 1):
        where = f"views[{n}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table with name, filter and sort")
            continue
        unknown = set(entry) - {"name", "filter", "sort"}
        name = entry.get("name")
        flt = entry.get("filter", {})
        sort = entry.get("sort", "urgency")
        if unknown:
            problems.append(f"{where}: unknown key {', '.join(sorted(unknown))}")
        elif not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: needs a name")
        elif not isinstance(flt, dict):
            problems.append(f'{where}: filter must be a table, e.g. {{queue = "support"}}')
        elif set(flt) - set(VIEW_FILTER_KEYS):
            bad = ", ".join(sorted(set(flt) - set(VIEW_FILTER_KEYS)))
            problems.append(
                f"{where}: unknown filter key {bad} (known: {', '.join(VIEW_FILTER_KEYS)})"
            )
        elif sort not in VIEW_SORTS:
            problems.append(f"{where}: sort must be one of {', '.join(VIEW_SORTS)} (got {sort!r})")
        elif any(not isinstance(v, (str, bool, int)) for v in flt.values()):
            problems.append(f"{where}: filter values must be text, numbers or true/false")
        else:
            out.append(View(name.strip(), tuple(sorted(flt.items())), sort))
    return tuple(out)


@dataclass(frozen=True)
class Config:
    #: Database used when neither --db nor OPSTUI_DB is given.
    db: str | None = None
    #: Theme name (built-in, user theme file, or a Textual theme).
    theme: str | None = None
    #: Always use the compact layout.
    compact: bool = False
    #: Ring the terminal bell with notifications for me.
    bell: bool = False
    #: Working days without an event before an open item counts as stuck.
    stuck_days: int = 3
    #: My person handle, if it differs from my Unix login.
    me: str | None = None
    #: Seconds between polls when the file cannot be watched (and for the safety poll).
    poll_interval: float = 2.0
    #: Below this many columns the dashboard switches to compact mode.
    compact_below: int = 80
    #: Share of working time that goes to queue work, when logged time cannot say.
    forecast_focus: float = 0.7
    #: Remaining work of an open item never goes below this many hours.
    remaining_floor_hours: float = 0.5
    #: Saved item views (``[[views]]``), shown in the palette and the views picker.
    views: tuple[View, ...] = ()
    #: Where this config came from (for messages).
    source: str = field(default="defaults", compare=False)
    #: Where each non-default value came from: key -> "file" | "env" | "flag".
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def origin(self, key: str) -> str:
        """ "default", "file", "env" or "flag": where ``key``'s value came from."""
        return dict(self.origins).get(key, "default")

    def with_origin(self, key: str, origin: str) -> Config:
        merged = dict(self.origins)
        merged[key] = origin
        return replace(self, origins=tuple(sorted(merged.items())))


# --- keys -------------------------------------------------------------------------------

THEME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_HANDLE_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,64}$")


def _check_range(lo: float, hi: float, unit: str = "") -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not lo <= value <= hi:
            return f"must be between {lo:g} and {hi:g}{unit} (got {value!r})"
        return None

    return check


def _check_theme(value: str) -> str | None:
    if not THEME_NAME_RE.match(value):
        return (
            f"{value!r} is not a theme name (letters, digits, '-', '_', '.'; "
            "`opstui themes ls` lists them)"
        )
    return None


def _check_me(value: str) -> str | None:
    if not _HANDLE_RE.match(value):
        return f"{value!r} is not a person handle (one word, no spaces)"
    return None


def _check_db(value: str) -> str | None:
    if not value.strip():
        return "must be a path to a database file (got an empty string)"
    if "\x00" in value:
        return "must be a path (contains a NUL byte)"
    return None


@dataclass(frozen=True)
class KeySpec:
    name: str
    types: tuple[type, ...]
    doc: str
    example: str
    check: Callable[[Any], str | None] | None = None

    @property
    def env(self) -> str:
        return f"OPSTUI_{self.name.upper()}"

    @property
    def type_name(self) -> str:
        names = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}
        if self.types == (int, float):
            return "a number"
        return " or ".join(names[t] for t in self.types)


KEYS: dict[str, KeySpec] = {
    k.name: k
    for k in (
        KeySpec(
            "db",
            (str,),
            "Database file used when neither --db nor OPSTUI_DB is given. "
            "~ is expanded; a relative path is relative to this file's directory.",
            '"~/ops/team.db"',
            _check_db,
        ),
        KeySpec(
            "theme",
            (str,),
            "Theme name: an opstui theme, one of your theme files, or a "
            "Textual theme (`opstui themes ls`). Setting it pins the theme at start-up; "
            "leave it out to let the app remember the last theme picked in the palette.",
            '"opstui-light"',
            _check_theme,
        ),
        KeySpec(
            "compact",
            (bool,),
            "Always use the compact layout (otherwise it is used "
            "below compact_below columns or when toggled in the app).",
            "false",
        ),
        KeySpec("bell", (bool,), "Ring the terminal bell with notifications meant for me.", "true"),
        KeySpec(
            "stuck_days",
            (int,),
            "Working days without any event before an open item counts as stuck.",
            "3",
            _check_range(1, 365, " days"),
        ),
        KeySpec(
            "me",
            (str,),
            "My person handle, if it differs from my Unix login.",
            '"alice"',
            _check_me,
        ),
        KeySpec(
            "poll_interval",
            (int, float),
            "Seconds between database polls when the "
            "file cannot be watched (network filesystems, --poll).",
            "2.0",
            _check_range(0.05, 3600, " seconds"),
        ),
        KeySpec(
            "compact_below",
            (int,),
            "Terminal width (columns) below which the dashboard switches to the compact layout.",
            "80",
            _check_range(20, 1000, " columns"),
        ),
        KeySpec(
            "forecast_focus",
            (int, float),
            "Share of a person's working time that goes to queue work, used by the "
            "forecast until their logged time shows their own (0.2 to 1).",
            "0.7",
            _check_range(0.2, 1.0),
        ),
        KeySpec(
            "remaining_floor_hours",
            (int, float),
            "Remaining work of an open item never goes below this many hours, even when "
            "more time was logged than estimated (it is flagged 'over estimate').",
            "0.5",
            _check_range(0, 100, " hours"),
        ),
    )
}

# Kept for code that imported the old name.
_TYPES: dict[str, tuple[type, ...]] = {name: spec.types for name, spec in KEYS.items()}


def _check_value(spec: KeySpec, value: Any) -> str | None:
    """The reason ``value`` is not acceptable for ``spec``, or None."""
    if isinstance(value, bool) and bool not in spec.types:
        return f"must be {spec.type_name}, not true/false"
    if not isinstance(value, spec.types):
        shown = repr(value) if not isinstance(value, dict) else "a table"
        return f"must be {spec.type_name} (got {shown})"
    if spec.check is not None:
        return spec.check(value)
    return None


def _unknown_key(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(KEYS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key ({hint}known: {', '.join(sorted(KEYS))})"


def parse_config(data: dict[str, Any], source: str, *, base_dir: Path | None = None) -> Config:
    """Validate a parsed TOML table.  All problems are reported at once, one line:
    ``FILE: KEY: REASON; KEY: REASON``."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        if key == "views":
            values["views"] = parse_views(value, problems)
            continue
        spec = KEYS.get(key)
        if spec is None:
            problems.append(f"{key}: {_unknown_key(key)}")
            continue
        reason = _check_value(spec, value)
        if reason:
            problems.append(f"{key}: {reason}")
            continue
        values[key] = value
    if problems:
        raise ConfigError(f"{source}: {'; '.join(problems)}")
    for key in ("poll_interval", "forecast_focus", "remaining_floor_hours"):
        if key in values:
            values[key] = float(values[key])
    if "db" in values and base_dir is not None and not is_server_url(str(values["db"])):
        db = Path(values["db"]).expanduser()
        if not db.is_absolute():
            values["db"] = str(base_dir / db)
    config = Config(**values, source=source)
    for key in values:
        config = config.with_origin(key, "file")
    return config


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _env_value(spec: KeySpec, raw: str) -> Any:
    """Convert an environment string to the key's type; raises ValueError(reason)."""
    text = raw.strip()
    if spec.types == (bool,):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"must be one of 1/0, true/false, yes/no, on/off (got {raw!r})")
    if spec.types == (int,):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be a whole number (got {raw!r})") from None
    if float in spec.types:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"must be a number (got {raw!r})") from None
    return text


def apply_env(config: Config, environ: Mapping[str, str] | None = None) -> Config:
    """Override ``config`` with ``OPSTUI_<KEY>`` variables (empty = unset)."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for spec in KEYS.values():
        raw = env.get(spec.env)
        if raw is None or not raw.strip():
            continue
        try:
            value = _env_value(spec, raw)
        except ValueError as exc:
            problems.append(f"{spec.env}: {exc}")
            continue
        reason = _check_value(spec, value)
        if reason:
            problems.append(f"{spec.env}: {reason}")
            continue
        changes[spec.name] = value
    if problems:
        raise ConfigError(f"environment: {'; '.join(problems)}")
    config = replace(config, **changes)
    for key in changes:
        config = config.with_origin(key, "env")
    return config


def read_config_file(path: Path | None = None) -> Config:
    """Only the file (no environment).  Missing file = defaults."""
    path = path or config_file()
    try:
        fh = open(path, "rb")  # closed by the "with" below, once tomllib is imported
    except FileNotFoundError:
        return Config()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    import tomllib  # only with a file to parse: no import on a start without one

    try:
        with fh:
            data = tomllib.load(fh)
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_config(data, str(path), base_dir=path.parent)


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """The config file, then ``OPSTUI_*`` environment overrides.

    Raises ConfigError (one line naming the file or variable, the key and the reason).
    """
    return apply_env(read_config_file(path), environ)


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Apply flags (None means 'not given')."""
    known = {f.name for f in fields(Config)} - {"source", "origins", "views"}
    given = {k: v for k, v in overrides.items() if v is not None and k in known}
    config = replace(config, **given)
    for key in given:
        config = config.with_origin(key, "flag")
    return config


#: URL schemes of a database on a server (PostgreSQL); anything else is a file path.
SERVER_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_server_url(value: str | os.PathLike[str]) -> bool:
    return os.fspath(value).startswith(SERVER_SCHEMES)


def resolve_db(flag: str | None, config: Config) -> Path | str:
    """The database: a file path, or a ``postgresql://`` URL (kept as text)."""
    from .paths import default_db

    for value in (flag, os.environ.get("OPSTUI_DB"), config.db):
        if value:
            return value if is_server_url(value) else Path(value).expanduser()
    return default_db()


def config_template() -> str:
    """A commented config file listing every key (for ``opstui config init``)."""
    lines = [
        "# opstui configuration.  opstui reads this file and never writes it.",
        "# Every key is optional; remove the leading '#' to set one.",
        "# Precedence: command-line flag > OPSTUI_<KEY> environment variable > this file > default.",
        "",
    ]
    defaults = Config()
    for spec in KEYS.values():
        default = getattr(defaults, spec.name)
        shown = (
            "(none)"
            if default is None
            else str(default).lower()
            if isinstance(default, bool)
            else default
        )
        words = spec.doc.split()
        line = "#"
        for word in words:
            if len(line) + 1 + len(word) > 88:
                lines.append(line)
                line = "#"
            line += " " + word
        lines.append(line)
        lines.append(f"# Default: {shown}.  Environment: {spec.env}.")
        lines.append(f"# {spec.name} = {spec.example}")
        lines.append("")
    return "\n".join(lines)
