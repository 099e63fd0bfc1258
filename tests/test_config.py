"""Config file, environment and flags: validation messages and precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from opstui.config import (
    KEYS,
    Config,
    ConfigError,
    config_template,
    load_config,
    parse_config,
    read_config_file,
    resolve_db,
    with_overrides,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OPSTUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("OPSTUI_STATE", str(tmp_path / "state.toml"))
    for spec in KEYS.values():
        monkeypatch.delenv(spec.env, raising=False)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope.toml", environ={})
    assert config == Config()
    assert all(config.origin(k) == "default" for k in KEYS)


def test_file_values_and_origins(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'db = "team.db"\ntheme = "nord"\ncompact = true\nbell = true\nstuck_days = 5\n'
        'me = "alice"\npoll_interval = 1\ncompact_below = 100\n'
        "forecast_focus = 0.6\nremaining_floor_hours = 1\n"
    )
    config = load_config(path, environ={})
    assert (config.forecast_focus, config.remaining_floor_hours) == (0.6, 1.0)
    assert config.db == str(tmp_path / "team.db")  # relative to the config file
    assert (config.theme, config.compact, config.bell) == ("nord", True, True)
    assert (config.stuck_days, config.me, config.compact_below) == (5, "alice", 100)
    assert config.poll_interval == 1.0 and isinstance(config.poll_interval, float)
    assert all(config.origin(k) == "file" for k in KEYS)
    assert config.source == str(path)


def test_home_relative_db_is_expanded_later(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('db = "~/ops.db"')
    config = load_config(path, environ={})
    assert config.db == "~/ops.db"
    assert resolve_db(None, config) == Path.home() / "ops.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('bell = "yes"', "bell: must be true or false (got 'yes')"),
        ("stuck_days = 0", "stuck_days: must be between 1 and 365 days (got 0)"),
        ("stuck_days = 2.5", "stuck_days: must be a whole number (got 2.5)"),
        ("stuck_days = true", "stuck_days: must be a whole number, not true/false"),
        ("poll_interval = 0", "poll_interval: must be between 0.05 and 3600 seconds"),
        ("compact_below = 5", "compact_below: must be between 20 and 1000 columns"),
        ('me = "Alice Smith"', "me: 'Alice Smith' is not a person handle"),
        ('theme = "my theme"', "theme: 'my theme' is not a theme name"),
        ('db = ""', "db: must be a path to a database file"),
        ("stuck_day = 3", "stuck_day: unknown key (did you mean 'stuck_days'?"),
        ("[ui]\ntheme = 'x'", "ui: unknown key"),
        ("theme = {name = 'x'}", "theme: must be a string (got a table)"),
    ],
)
def test_bad_value_names_file_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('bell = "yes"\nstuck_days = 0\ncolour = "red"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    for part in ("bell:", "stuck_days:", "colour: unknown key"):
        assert part in message


def test_not_toml_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("theme = ")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML: "):
        load_config(path, environ={})
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})
    directory = tmp_path / "dir.toml"
    directory.mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(directory, environ={})


def test_env_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "nord"\nbell = false\nstuck_days = 5\n')
    env = {
        "OPSTUI_THEME": "opstui-light",
        "OPSTUI_BELL": "on",
        "OPSTUI_POLL_INTERVAL": "0.5",
        "OPSTUI_STUCK_DAYS": "",  # empty = unset
    }
    config = load_config(path, environ=env)
    assert (config.theme, config.bell, config.poll_interval) == ("opstui-light", True, 0.5)
    assert config.stuck_days == 5
    assert config.origin("theme") == "env" and config.origin("stuck_days") == "file"
    assert config.origin("compact") == "default"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPSTUI_BELL": "maybe"}, "OPSTUI_BELL: must be one of 1/0, true/false"),
        ({"OPSTUI_STUCK_DAYS": "three"}, "OPSTUI_STUCK_DAYS: must be a whole number"),
        ({"OPSTUI_STUCK_DAYS": "999"}, "OPSTUI_STUCK_DAYS: must be between 1 and 365"),
        ({"OPSTUI_POLL_INTERVAL": "fast"}, "OPSTUI_POLL_INTERVAL: must be a number"),
    ],
)
def test_bad_env_value(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "none.toml", environ=env)
    assert str(info.value).startswith("environment: ")
    assert expected in str(info.value)


def test_flags_override_env_and_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "nord"\ncompact = false\n')
    config = load_config(path, environ={"OPSTUI_THEME": "dracula"})
    config = with_overrides(config, theme="opstui-256", compact=True, bell=None)
    assert (config.theme, config.compact, config.bell) == ("opstui-256", True, False)
    assert config.origin("theme") == "flag" and config.origin("compact") == "flag"
    assert config.origin("bell") == "default"


def test_origins_do_not_affect_equality() -> None:
    assert with_overrides(Config(), theme="x") == Config(theme="x")


def test_parse_config_keeps_old_signature() -> None:
    config = parse_config({"bell": True}, "inline")
    assert config.bell is True and config.source == "inline"


def test_template_lists_every_key_and_parses_to_defaults(tmp_path: Path) -> None:
    text = config_template()
    for spec in KEYS.values():
        assert f"# {spec.name} = " in text
        assert spec.env in text
    assert tomllib.loads(text) == {}
    # uncommenting every example gives a valid config
    active = "\n".join(
        line[2:] if line.startswith("# ") and " = " in line and "Default" not in line else line
        for line in text.splitlines()
    )
    path = tmp_path / "config.toml"
    path.write_text(active)
    config = read_config_file(path)
    assert config.theme == "opstui-light" and config.me == "alice"


# --- through the real command line ---------------------------------------------------------


def _invoke(args: list[str], env: dict[str, str]) -> Any:
    """In-process (fast); the end-to-end precedence test uses a real subprocess."""
    from click.testing import CliRunner

    from opstui.cli import main

    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "opstui", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_precedence_end_to_end(tmp_path: Path) -> None:
    """flag > env > file > default, as the CLI resolves it (AppState.from_options)."""
    (tmp_path / "config.toml").write_text('theme = "nord"\nstuck_days = 7\nbell = true\n')
    env = {
        "OPSTUI_CONFIG": str(tmp_path / "config.toml"),
        "OPSTUI_STATE": str(tmp_path / "state.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "OPSTUI_THEME": "dracula",
        "OPSTUI_BELL": "0",
    }
    result = _run(["--theme", "opstui-light", "config", "show", "--json"], env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["theme"] == {"value": "opstui-light", "source": "flag"}
    assert shown["bell"] == {"value": False, "source": "env OPSTUI_BELL"}
    assert shown["stuck_days"] == {"value": 7, "source": f"file {tmp_path / 'config.toml'}"}
    assert shown["compact_below"] == {"value": 80, "source": "default"}

    result = _run(["config", "show", "--json"], env)
    assert json.loads(result.stdout)["theme"]["value"] == "dracula"


def test_bad_config_file_cli_warns_and_continues(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('bell = "loud"\n')
    env = {
        "OPSTUI_CONFIG": str(tmp_path / "config.toml"),
        "OPSTUI_STATE": str(tmp_path / "state.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    result = _run(["config", "show"], env)
    assert result.returncode == 0
    assert "warning:" in result.stderr and "bell: must be true or false" in result.stderr
    assert "(using defaults)" in result.stderr
    assert "Traceback" not in result.stderr

    result = _invoke(["config", "check"], env)
    assert result.exit_code == 1
    assert f"problem: {tmp_path / 'config.toml'}: bell: must be true or false" in result.stderr

    # a real command against a database still works, with the warning
    db = tmp_path / "x.db"
    result = _invoke(["--db", str(db), "init"], env)
    assert result.exit_code == 0, result.stderr
    assert "bell: must be true or false" in result.stderr


def test_config_check_ok_and_init(tmp_path: Path) -> None:
    env = {
        "OPSTUI_CONFIG": str(tmp_path / "conf" / "config.toml"),
        "OPSTUI_STATE": str(tmp_path / "state.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    result = _invoke(["config", "check"], env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert "start-up theme: opstui-dark" in result.stdout

    result = _invoke(["config", "init"], env)
    assert result.exit_code == 0, result.stderr
    written = (tmp_path / "conf" / "config.toml").read_text()
    assert "# stuck_days = 3" in written
    result = _invoke(["config", "init"], env)
    assert result.exit_code == 1
    assert "already exists; opstui never overwrites it" in result.stderr
    assert (tmp_path / "conf" / "config.toml").read_text() == written

    result = _invoke(["config", "path", "--json"], env)
    paths = json.loads(result.stdout)
    assert paths["config"] == {
        "path": str(tmp_path / "conf" / "config.toml"),
        "exists": True,
        "env": "OPSTUI_CONFIG",
    }
    assert paths["themes"]["path"] == str(tmp_path / "xdg" / "opstui" / "themes")


def test_themes_ls_shows_user_theme_and_problems(tmp_path: Path) -> None:
    themes = tmp_path / "xdg" / "opstui" / "themes"
    themes.mkdir(parents=True)
    (themes / "sunset.toml").write_text('primary = "#ff8800"\ndark = false\n')
    (themes / "broken.toml").write_text('primary = "nope"\n')
    env = {
        "OPSTUI_CONFIG": str(tmp_path / "config.toml"),
        "OPSTUI_STATE": str(tmp_path / "state.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    (tmp_path / "state.toml").write_text('theme = "sunset"\n')
    result = _invoke(["themes", "ls", "--json"], env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    by_name = {t["name"]: t for t in data["themes"]}
    assert by_name["sunset"]["origin"] == "user" and by_name["sunset"]["current"]
    assert by_name["sunset"]["dark"] is False
    assert by_name["nord"]["origin"] == "textual"
    assert {"opstui-dark", "opstui-light", "opstui-high-contrast", "opstui-256"} <= set(by_name)
    assert len(data["problems"]) == 1 and "broken.toml: primary:" in data["problems"][0]

    result = _invoke(["themes"], env)
    assert "* " in result.stdout and "sunset" in result.stdout
    assert "problem:" in result.stderr


def test_bad_config_file_keeps_environment_settings(tmp_path, monkeypatch) -> None:
    from opstui.cli.common import AppState

    cfg = tmp_path / "config.toml"
    cfg.write_text("stuck_days = 'many'\n")
    monkeypatch.setenv("OPSTUI_CONFIG", str(cfg))
    monkeypatch.setenv("OPSTUI_BELL", "true")
    state = AppState.from_options(None, None, False, None, None, False)
    assert state.config_error and "stuck_days" in state.config_error
    assert state.config.bell is True
