"""User configuration: one typed model, read with tomllib, never rewritten.

Precedence for every setting: command-line flag > environment > config file > default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import OpsError
from .paths import config_file


class ConfigError(OpsError):
    pass


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
    #: Where this config came from (for messages).
    source: str = field(default="defaults", compare=False)


_TYPES: dict[str, tuple[type, ...]] = {
    "db": (str,),
    "theme": (str,),
    "compact": (bool,),
    "bell": (bool,),
    "stuck_days": (int,),
    "me": (str,),
    "poll_interval": (int, float),
    "compact_below": (int,),
}


def parse_config(data: dict[str, Any], source: str) -> Config:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _TYPES:
            raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(_TYPES))})")
        expected = _TYPES[key]
        if isinstance(value, bool) and bool not in expected:
            raise ConfigError(f"{source}: {key} must be {expected[0].__name__}, not true/false")
        if not isinstance(value, expected):
            raise ConfigError(
                f"{source}: {key} must be {' or '.join(t.__name__ for t in expected)} (got {value!r})"
            )
        values[key] = value
    if "stuck_days" in values and not 1 <= values["stuck_days"] <= 365:
        raise ConfigError(f"{source}: stuck_days must be between 1 and 365")
    if "poll_interval" in values and not 0.05 <= float(values["poll_interval"]) <= 3600:
        raise ConfigError(f"{source}: poll_interval must be between 0.05 and 3600 seconds")
    if "compact_below" in values and not 20 <= values["compact_below"] <= 1000:
        raise ConfigError(f"{source}: compact_below must be between 20 and 1000 columns")
    return Config(**values, source=source)


def load_config(path: Path | None = None) -> Config:
    """Read the config file (missing file = defaults).  Raises ConfigError with file, key, reason."""
    path = path or config_file()
    if not path.exists():
        return Config()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_config(data, str(path))


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Apply flags (None means 'not given')."""
    known = {f.name for f in fields(Config)}
    return replace(config, **{k: v for k, v in overrides.items() if v is not None and k in known})


def resolve_db(flag: str | None, config: Config) -> Path:
    from .paths import default_db

    if flag:
        return Path(flag).expanduser()
    env = os.environ.get("OPSTUI_DB")
    if env:
        return Path(env).expanduser()
    if config.db:
        return Path(config.db).expanduser()
    return default_db()
