"""Where files live.  One place; nothing is created at import time (and platformdirs is
imported only when a default location is asked for: a command given ``--db`` and
``OPSTUI_CONFIG`` never needs it)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "opstui"


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def config_file() -> Path:
    env = os.environ.get("OPSTUI_CONFIG")
    return Path(env).expanduser() if env else config_dir() / "config.toml"


def state_file() -> Path:
    env = os.environ.get("OPSTUI_STATE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP)) / "state.toml"


def default_db() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP)) / "opstui.db"


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def sample_data_dir() -> Path:
    return package_dir() / "sample_data"


def builtin_themes_dir() -> Path:
    return package_dir() / "themes"


def user_themes_dir() -> Path:
    return config_dir() / "themes"
