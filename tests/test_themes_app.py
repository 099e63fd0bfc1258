"""Themes inside a running app: install(), notifications, palette switching, persistence,
NO_COLOR.  Uses a small host app of its own (the dashboard has its own snapshot tests)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.color import Color
from textual.command import CommandList
from textual.theme import BUILTIN_THEMES
from textual.widgets import DataTable, Footer, Label

from opstui.config import Config, load_config, with_overrides
from opstui.paths import builtin_themes_dir
from opstui.ui import themes as th
from opstui.ui.state import load_state

BUILTIN = ("opstui-dark", "opstui-light", "opstui-high-contrast", "opstui-256")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OPSTUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("OPSTUI_STATE", str(tmp_path / "state.toml"))
    for var in ("OPSTUI_THEME", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


class Host(App[None]):
    """Uses every app variable the way the dashboard's TCSS does."""

    CSS = "\n".join(
        f"#{var} {{ color: ${var}; background: $surface; border-left: tall ${var} 50%; }}"
        for var in th.APP_VARIABLES
    )

    def __init__(self, config: Config, flag: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = config
        self.flag = flag
        self.kwargs = kwargs
        self.installed: th.ThemeInstall | None = None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return th.variable_defaults(self.current_theme)

    def compose(self) -> ComposeResult:
        for var in th.APP_VARIABLES:
            yield Label(var, id=var)
        table: DataTable[Text] = DataTable()
        table.add_columns("key", "title", "sla")
        # DB text is always a Text object: a plain str cell would be parsed as markup.
        table.add_row(Text("SUP-1"), Text("[b]markup[/b] stays literal"), Text("12m"))
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.installed = th.install(self, self.config, self.flag, **self.kwargs)


def _kwargs(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    user = tmp_path / "user-themes"
    user.mkdir(exist_ok=True)
    return {"user_dir": user, "state_path": tmp_path / "state.toml", "environ": {}, **extra}


def _messages(app: App[Any]) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


@pytest.mark.parametrize("name", BUILTIN)
async def test_each_theme_renders_with_its_variables(tmp_path: Path, name: str) -> None:
    app = Host(Config(), name, **_kwargs(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == name
        assert _messages(app) == []
        theme = app.current_theme
        for var in th.APP_VARIABLES:
            label = app.query_one(f"#{var}", Label)
            assert label.styles.color == Color.parse(theme.variables[var])
        svg = app.export_screenshot()
        assert "SUP-1" in svg and "[b]markup[/b]" in svg


async def test_textual_themes_still_available_and_render(tmp_path: Path) -> None:
    app = Host(Config(), None, **_kwargs(tmp_path, persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert set(BUILTIN_THEMES) <= set(app.available_themes)
        assert set(BUILTIN) <= set(app.available_themes)
        for name in BUILTIN_THEMES:
            app.theme = name
            await pilot.pause()
            want = th.variable_defaults(app.current_theme)["sla-breached"]
            assert app.query_one("#sla-breached").styles.color == Color.parse(want)
            app.export_screenshot()


async def test_bad_theme_files_one_notification_default_kept(tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path)
    (kwargs["user_dir"] / "broken.toml").write_text('primary = "bleu"')
    (kwargs["user_dir"] / "typo.toml").write_text(
        'primary = "#fff"\n[variables]\nsla-breach = "#f00"'
    )
    (kwargs["user_dir"] / "fine.toml").write_text('primary = "#336699"')
    app = Host(Config(), None, **kwargs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-dark"
        assert "fine" in app.available_themes
        notes = _messages(app)
        assert len(notes) == 1
        title, message = notes[0]
        assert title == "Theme problems"
        assert "broken.toml: primary: 'bleu' is not a colour (did you mean 'blue'?)" in message
        assert "typo.toml: variables.sla-breach: unknown variable" in message
        assert app.installed is not None and len(app.installed.problems) == 2
        await pilot.press("tab")  # still running and responsive


async def test_unknown_theme_flag_is_reported_and_next_choice_used(tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path)
    (tmp_path / "config.toml").write_text('theme = "opstui-light"')
    config = load_config(tmp_path / "config.toml", environ={})
    app = Host(config, "nope", **kwargs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-light"
        [(_title, message)] = _messages(app)
        assert "unknown theme 'nope' (from --theme)" in message


async def test_bad_config_file_message_and_app_starts(tmp_path: Path) -> None:
    error = f"{tmp_path / 'config.toml'}: bell: must be true or false (got 'yes')"
    app = Host(Config(), None, **_kwargs(tmp_path, config_error=error))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-dark"
        [(title, message)] = _messages(app)
        assert title == "Config file not used"
        assert "bell: must be true or false (got 'yes')" in message
        assert "Using the defaults." in message


async def _pick_in_palette(pilot: Any, name: str) -> None:
    app = pilot.app
    app.action_change_theme()
    await pilot.pause()
    await pilot.press(*name)
    for _ in range(50):  # the palette searches in a worker
        await pilot.pause(0.05)
        if app.screen.query_one(CommandList).option_count:
            break
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()


async def test_theme_picked_in_palette_survives_restart(tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path)
    app = Host(Config(), None, **kwargs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-dark"
        await _pick_in_palette(pilot, "opstui-high-contrast")
        assert app.theme == "opstui-high-contrast"
    state = load_state(tmp_path / "state.toml")
    assert state.theme == "opstui-high-contrast"
    text = (tmp_path / "state.toml").read_text()
    assert text.startswith("# Written by opstui")
    assert tomllib.loads(text)["theme"] == "opstui-high-contrast"

    again = Host(Config(), None, **kwargs)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "opstui-high-contrast"


async def test_start_up_theme_is_not_written(tmp_path: Path) -> None:
    kwargs = _kwargs(tmp_path)
    app = Host(Config(), "opstui-light", **kwargs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
    assert not (tmp_path / "state.toml").exists()  # a --theme flag is not "remembered"


async def test_config_file_never_rewritten_and_pin_explained(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    original = '# my settings\ntheme = "opstui-light"   # keep\n'
    config_path.write_text(original)
    config = load_config(config_path, environ={})
    app = Host(config, None, **_kwargs(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-light"
        app.theme = "opstui-256"
        await pilot.pause()
        await pilot.pause()
        notes = _messages(app)
        assert any(
            f"{config_path} sets theme = opstui-light, which wins" in message
            for _t, message in notes
        )
    assert config_path.read_text() == original
    assert load_state(tmp_path / "state.toml").theme == "opstui-256"


async def test_state_file_unwritable_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    app = Host(Config(), None, **_kwargs(tmp_path, state_path=blocker / "state.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.theme = "opstui-light"
        await pilot.pause()
        await pilot.pause()
        assert app.theme == "opstui-light"
        assert app.installed is not None and app.installed.save_error
        assert any("could not remember the theme" in m for _t, m in _messages(app))


async def test_corrupt_state_file_reported_and_ignored(tmp_path: Path) -> None:
    (tmp_path / "state.toml").write_text("theme = [oops")
    app = Host(Config(), None, **_kwargs(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "opstui-dark"
        [(_t, message)] = _messages(app)
        assert "state.toml: not valid TOML" in message
        app.theme = "opstui-light"  # and the next choice repairs the file
        await pilot.pause()
        await pilot.pause()
    assert load_state(tmp_path / "state.toml").theme == "opstui-light"


async def test_persist_off_writes_nothing(tmp_path: Path) -> None:
    app = Host(Config(), None, **_kwargs(tmp_path, persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.theme = "opstui-light"
        await pilot.pause()
        await pilot.pause()
    assert not (tmp_path / "state.toml").exists()


async def test_flag_beats_env_beats_file_in_the_app(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('theme = "nord"')
    env = {"OPSTUI_THEME": "opstui-256"}
    config = load_config(tmp_path / "config.toml", environ=env)
    cases = [
        (config, env, "opstui-256"),
        (with_overrides(config, theme="opstui-light"), env, "opstui-light"),
        (load_config(tmp_path / "config.toml", environ={}), {}, "nord"),
    ]
    for case_config, case_env, want in cases:
        app = Host(case_config, None, **_kwargs(tmp_path, environ=case_env, persist=False))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.theme == want


# The SVG window buttons and its default text colour: Rich's export, not the app.
_CHROME = {"#ff5f57", "#febc2e", "#28c840", "#c5c8c6"}


def _svg_colours(svg: str) -> set[str]:
    return {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", svg)} - _CHROME


async def test_no_color_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = Host(Config(), "opstui-dark", **_kwargs(tmp_path, persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        coloured = _svg_colours(app.export_screenshot())
    breached = th.parse_theme(
        tomllib.loads((builtin_themes_dir() / "opstui-dark.toml").read_text()), "x"
    )[0].variables["sla-breached"]
    assert breached in coloured  # sanity: without NO_COLOR the colour is there

    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(Config(), "opstui-dark", **_kwargs(tmp_path, persist=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        colours = _svg_colours(app.export_screenshot())
    assert breached not in colours
    for colour in colours:  # only greys remain
        c = Color.parse(colour)
        assert c.r == c.g == c.b, colour
