"""Settings commands: ``opstui config path|show|check|init`` and ``opstui themes ls``.

They help people tune opstui without reading the source: where files live, what each
setting is and where its value came from, whether config and theme files are valid.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..config import (
    KEYS,
    Config,
    ConfigError,
    apply_env,
    config_template,
    is_server_url,
    read_config_file,
)
from ..domain.text import one_line
from ..paths import builtin_themes_dir, config_file, state_file, user_themes_dir
from .common import AppState, emit_json, fail, opstui_group, pass_state, render_table


def _origin_text(config: Config, key: str) -> str:
    origin = config.origin(key)
    if origin == "file":
        return f"file {config.source}"
    if origin == "env":
        return f"env {KEYS[key].env}"
    if origin == "flag":
        return "flag"
    return "default"


def _show_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return mask_password(str(value))


def mask_password(value: str) -> str:
    """A server URL's password as ``***`` (config output is often pasted into tickets)."""
    if not is_server_url(value):
        return value
    from ..store.dialect import mask_url

    return mask_url(value)


def _json_value(value: Any) -> Any:
    return mask_password(value) if isinstance(value, str) else value


def _exists(path: Path | str) -> bool | None:
    """Whether a path exists; None for a server URL (a file check cannot say)."""
    return None if isinstance(path, str) else path.exists()


@opstui_group("config")
def config_group() -> None:
    """Where settings live, what they are, and whether they are valid."""


@config_group.command("path")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def config_path(state: AppState, as_json: bool) -> None:
    """Show the config file, state file, theme folders and database paths."""
    rows = [
        ("config", config_file(), "OPSTUI_CONFIG", "your settings (opstui never writes it)"),
        ("state", state_file(), "OPSTUI_STATE", "what the app remembers (theme, layout)"),
        ("themes", user_themes_dir(), "", "your theme files (*.toml)"),
        ("built-in themes", builtin_themes_dir(), "", "shipped with opstui"),
        ("database", state.db_path, "OPSTUI_DB", "--db > OPSTUI_DB > db in config > default"),
    ]
    if as_json:
        emit_json(
            {
                name.replace(" ", "_"): {
                    "path": mask_password(str(path)),
                    "exists": _exists(path),
                    "env": env,
                }
                for name, path, env, _ in rows
            }
        )
        return
    table = [
        (name, mask_password(str(path)), {True: "yes", False: "no", None: "-"}[_exists(path)], note)
        for name, path, _env, note in rows
    ]
    click.echo(render_table(["WHAT", "PATH", "EXISTS", "NOTE"], table, flex=1))


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def config_show(state: AppState, as_json: bool) -> None:
    """Show every setting, its value and where the value came from."""
    if state.config_error:
        click.echo(f"opstui: warning: {one_line(state.config_error)} (using defaults)", err=True)
    config = state.config
    if as_json:
        emit_json(
            {
                key: {
                    "value": _json_value(getattr(config, key)),
                    "source": _origin_text(config, key),
                }
                for key in KEYS
            }
        )
        return
    rows = [(key, _show_value(getattr(config, key)), _origin_text(config, key)) for key in KEYS]
    click.echo(render_table(["KEY", "VALUE", "FROM"], rows, flex=1))


@config_group.command("check")
@pass_state
def config_check(state: AppState) -> None:
    """Validate the config file, OPSTUI_* variables, theme files and the state file.

    Prints every problem (one per line) and exits 1 if there is any.
    """
    from ..ui.state import load_state
    from ..ui.themes import choose_theme, load_themes

    problems: list[str] = []
    notes: list[str] = []
    path = config_file()
    config = Config()
    try:
        config = read_config_file(path)
        notes.append(f"config: {path}" + ("" if path.exists() else " (not present: defaults)"))
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        config = apply_env(config)
    except ConfigError as exc:
        problems.append(str(exc))
    themes, theme_problems = load_themes()
    problems.extend(theme_problems)
    user = [t.name for t in themes if t.origin == "user"]
    notes.append(
        f"themes: {len(themes) - len(user)} built-in, {len(user)} from {user_themes_dir()}"
        + (f" ({', '.join(user)})" if user else "")
    )
    remembered = load_state()
    if remembered.problem:
        problems.append(remembered.problem)
    from textual.theme import BUILTIN_THEMES

    available = {t.name for t in themes} | set(BUILTIN_THEMES)
    for name, where in ((config.theme, f"theme in {config.source}"),):
        if name and name not in available:
            problems.append(f"{where}: unknown theme {name!r} (`opstui themes ls` lists them)")
    chosen = choose_theme(config, remembered, None, available=available)
    notes.append(f"start-up theme: {chosen}")
    for note in notes:
        click.echo(one_line(note))
    if problems:
        for problem in problems:
            click.echo(f"problem: {one_line(problem)}", err=True)
        sys.exit(1)
    click.echo("ok")


@config_group.command("init")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the template instead.")
def config_init(to_stdout: bool) -> None:
    """Write a commented config file listing every key (never overwrites one)."""
    text = config_template()
    if to_stdout:
        click.echo(text)
        return
    path = config_file()
    if path.exists():
        fail(f"{path} already exists; opstui never overwrites it (--stdout prints the template)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        fail(f"{path} already exists; opstui never overwrites it")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    click.echo(f"wrote {path}")


@opstui_group("themes", invoke_without_command=True)
@click.pass_context
def themes_group(ctx: click.Context) -> None:
    """List themes (`opstui themes ls`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(themes_ls)


@themes_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def themes_ls(state: AppState, as_json: bool) -> None:
    """List every theme: opstui's, yours, and Textual's.  * marks the start-up theme."""
    from ..ui.state import load_state
    from ..ui.themes import all_theme_files, choose_theme

    themes, problems = all_theme_files()
    names = {t.name for t in themes}
    chosen = choose_theme(state.config, load_state(), None, available=dict.fromkeys(names))
    if as_json:
        emit_json(
            {
                "themes": [
                    {
                        "name": t.name,
                        "dark": t.theme.dark,
                        "origin": t.origin,
                        "path": str(t.path) if t.path else None,
                        "description": t.description,
                        "current": t.name == chosen,
                    }
                    for t in themes
                ],
                "problems": problems,
            }
        )
        return
    rows = [
        (
            "*" if t.name == chosen else "",
            t.name,
            "dark" if t.theme.dark else "light",
            t.origin,
            t.description if t.origin != "user" else f"{t.description} {_short(t.path)}".strip(),
        )
        for t in themes
    ]
    click.echo(render_table(["", "NAME", "KIND", "FROM", "DESCRIPTION"], rows))
    for problem in problems:
        click.echo(f"problem: {one_line(problem)}", err=True)


def _short(path: Path | None) -> str:
    if path is None:
        return ""
    home = Path.home()
    try:
        return f"(~/{path.relative_to(home)})"
    except ValueError:
        return f"({path})"


COMMANDS = [config_group, themes_group]
