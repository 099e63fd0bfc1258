"""Theme files: parsing, validation, choice, contrast, the 256-colour palette."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from opstui.config import Config, load_config, with_overrides
from opstui.paths import builtin_themes_dir
from opstui.ui import themes as th
from opstui.ui.state import AppStateFile

BUILTIN = ("opstui-dark", "opstui-light", "opstui-high-contrast", "opstui-256")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OPSTUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("OPSTUI_STATE", str(tmp_path / "state.toml"))
    for var in ("OPSTUI_THEME", "OPSTUI_COMPACT", "OPSTUI_BELL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


def _user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "user-themes"
    d.mkdir(exist_ok=True)
    return d


# --- the shipped files --------------------------------------------------------------------


def test_builtin_theme_files_are_the_four_and_all_valid(tmp_path: Path) -> None:
    loaded, problems = th.load_themes(_user_dir(tmp_path))
    assert problems == []
    assert sorted(t.name for t in loaded) == sorted(BUILTIN)
    assert {t.origin for t in loaded} == {"opstui"}
    dark = {t.name: t.theme.dark for t in loaded}
    assert dark == {
        "opstui-dark": True,
        "opstui-light": False,
        "opstui-high-contrast": True,
        "opstui-256": True,
    }


def test_builtin_themes_ship_inside_the_package() -> None:
    # opstui/themes must resolve to real files (a symlink to ../themes in a checkout,
    # a directory in the wheel): the loader only ever looks inside the package.
    directory = builtin_themes_dir()
    assert directory.parent.name == "opstui"
    assert sorted(p.stem for p in directory.glob("*.toml")) == sorted(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_theme_defines_every_app_variable_as_a_colour(name: str) -> None:
    data = tomllib.loads((builtin_themes_dir() / f"{name}.toml").read_text())
    assert data["name"] == name
    for var in th.APP_VARIABLES:
        Color.parse(data["variables"][var])
    for key in ("primary", "secondary", "accent", "warning", "error", "success"):
        Color.parse(data[key])
    for key in ("foreground", "background", "surface", "panel"):
        Color.parse(data[key])


def _luminance(colour: Color) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(Color.parse(a)), _luminance(Color.parse(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_helper_matches_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("name", BUILTIN)
def test_status_colours_are_readable_as_text(name: str) -> None:
    """Every status colour and the foreground are readable on background and surface:
    WCAG AA (4.5:1) in every theme, AAA (7:1) in the high-contrast one."""
    data = tomllib.loads((builtin_themes_dir() / f"{name}.toml").read_text())
    need = 7.0 if name == "opstui-high-contrast" else 4.5
    for ground in ("background", "surface"):
        assert contrast(data["foreground"], data[ground]) >= need
        for var in th.APP_VARIABLES:
            ratio = contrast(data["variables"][var], data[ground])
            assert ratio >= need, f"{name}: {var} on {ground} is {ratio:.2f}:1"


def xterm_256_palette() -> set[tuple[int, int, int]]:
    steps = (0, 95, 135, 175, 215, 255)
    cube = {(r, g, b) for r in steps for g in steps for b in steps}
    greys = {(8 + 10 * i,) * 3 for i in range(24)}
    return cube | greys  # indexes 16-255 (0-15 are redefined by most terminals)


def test_opstui_256_uses_only_xterm_palette_colours() -> None:
    data = tomllib.loads((builtin_themes_dir() / "opstui-256.toml").read_text())
    palette = xterm_256_palette()
    values = [data[k] for k in th._COLOUR_KEYS if k in data]
    values += [v.split()[0] for v in data["variables"].values() if v.startswith("#")]
    assert len(values) > 20
    for value in values:
        c = Color.parse(value)
        assert (c.r, c.g, c.b) in palette, f"{value} is not an xterm-256 colour"
    assert data["text_alpha"] == 1.0  # text is not blended off the palette


# --- validation ---------------------------------------------------------------------------


def test_good_user_theme_loads_with_name_from_file(tmp_path: Path) -> None:
    d = _user_dir(tmp_path)
    (d / "sunset.toml").write_text(
        'description = "mine"\nprimary = "#ff8800"\ndark = false\n'
        '[variables]\nsla-breached = "#aa0000"\ninput-selection-background = "#ff8800 35%"\n'
        'block-cursor-text-style = "bold underline"\n'
    )
    loaded, problems = th.load_themes(d)
    assert problems == []
    user = [t for t in loaded if t.origin == "user"]
    assert [t.name for t in user] == ["sunset"]
    assert user[0].theme.dark is False
    assert user[0].description == "mine"
    assert user[0].theme.variables["sla-breached"] == "#aa0000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('primary = "bleu"', "primary: 'bleu' is not a colour (did you mean 'blue'?)"),
        ('primary = "#12345"', "primary: '#12345' is not a colour"),
        ("primary = 3", "primary: must be a colour string"),
        ('secondary = "#fff"', "primary: missing"),
        ('primary = "#fff"\ncolour = "#000"', "colour: unknown key"),
        ('primary = "#fff"\ndark = "yes"', "dark: must be true or false"),
        ('primary = "#fff"\ntext_alpha = 2', "text_alpha: must be a number from 0 to 1"),
        ('name = "a b"\nprimary = "#fff"', "name: 'a b' is not a theme name"),
        ('name = "x,y"\nprimary = "#fff"', "name: 'x,y' is not a theme name"),
        (
            'primary = "#fff"\n[variables]\nsla-breach = "#f00"',
            "variables.sla-breach: unknown variable (did you mean 'sla-breached'?)",
        ),
        (
            'primary = "#fff"\n[variables]\nsla-ok = "#0f0 50%"',
            "variables.sla-ok: '#0f0 50%' is not a colour",
        ),
        (
            'primary = "#fff"\n[variables]\nblock-cursor-text-style = "loud"',
            "variables.block-cursor-text-style: 'loud' is not a text style",
        ),
        (
            'primary = "#fff"\n[variables]\nborder = "#fff 150%"',
            "variables.border: '#fff 150%': percentage must be 0-100%",
        ),
        ('primary = "#fff"\nvariables = "x"', "variables: must be a table"),
        ("primary = ", "not valid TOML"),
    ],
)
def test_bad_theme_file_gives_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    d = _user_dir(tmp_path)
    (d / "bad.toml").write_text(text)
    loaded, problems = th.load_themes(d)
    assert len(problems) == 1
    assert problems[0].startswith(f"{d / 'bad.toml'}: ")
    assert expected in problems[0]
    assert "\n" not in problems[0]
    assert "bad" not in {t.name for t in loaded}
    assert sorted(t.name for t in loaded) == sorted(BUILTIN)  # built-ins unaffected


def test_every_problem_in_a_file_is_listed(tmp_path: Path) -> None:
    d = _user_dir(tmp_path)
    (d / "bad.toml").write_text(
        'primary = "nope"\nerror = "#zzzzzz"\n[variables]\nload-over = "hot"\n'
    )
    _, problems = th.load_themes(d)
    assert len(problems) == 1
    for part in ("primary:", "error:", "variables.load-over:"):
        assert part in problems[0]


def test_name_clashes_are_reported(tmp_path: Path) -> None:
    d = _user_dir(tmp_path)
    (d / "a.toml").write_text('name = "opstui-dark"\nprimary = "#fff"')
    (d / "b.toml").write_text('name = "nord"\nprimary = "#fff"')
    (d / "c.toml").write_text('name = "twin"\nprimary = "#fff"')
    (d / "d.toml").write_text('name = "twin"\nprimary = "#000"')
    loaded, problems = th.load_themes(d)
    assert len(problems) == 3
    assert "name 'opstui-dark' is already used by an opstui built-in theme" in problems[0]
    assert "name 'nord' is already used by a Textual theme" in problems[1]
    assert "name 'twin' is already used by c.toml" in problems[2]
    by_name = {t.name: t for t in loaded}
    assert by_name["opstui-dark"].origin == "opstui"
    assert by_name["twin"].theme.primary == "#fff"


def test_unreadable_and_huge_and_binary_files(tmp_path: Path) -> None:
    d = _user_dir(tmp_path)
    (d / "huge.toml").write_text("# " + "x" * 70_000)
    (d / "binary.toml").write_bytes(b"\xff\xfe\x00primary")
    (d / "notes.txt").write_text("ignored: not .toml")
    _, problems = th.load_themes(d)
    assert len(problems) == 2
    assert any("huge.toml: larger than 64 KiB" in p for p in problems)
    assert any("binary.toml: not valid TOML" in p for p in problems)


def test_user_theme_dir_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "themes"
    f.write_text("")
    loaded, problems = th.load_themes(f)
    assert problems == [f"{f}: is not a directory (user themes are ignored)"]
    assert len(loaded) == len(BUILTIN)


def test_missing_user_dir_is_fine(tmp_path: Path) -> None:
    loaded, problems = th.load_themes(tmp_path / "nope")
    assert problems == [] and len(loaded) == len(BUILTIN)


def test_default_user_dir_is_in_the_config_dir(tmp_path: Path) -> None:
    d = tmp_path / "xdg" / "opstui" / "themes"
    d.mkdir(parents=True)
    (d / "mine.toml").write_text('primary = "#336699"')
    loaded, _ = th.load_themes()
    assert "mine" in {t.name for t in loaded}


# --- variable defaults --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_variable_defaults_for_every_textual_theme_are_colours(name: str) -> None:
    defaults = th.variable_defaults(BUILTIN_THEMES[name])
    assert set(defaults) == set(th.APP_VARIABLES)
    for value in defaults.values():
        Color.parse(value)


def test_variable_defaults_follow_the_theme() -> None:
    nord = th.variable_defaults(BUILTIN_THEMES["nord"])
    light = th.variable_defaults(BUILTIN_THEMES["textual-light"])
    got, want = Color.parse(nord["sla-breached"]), Color.parse(BUILTIN_THEMES["nord"].error)
    assert abs(got.r - want.r) + abs(got.g - want.g) + abs(got.b - want.b) <= 3
    assert nord["sla-breached"] != light["sla-breached"]


# --- choosing -----------------------------------------------------------------------------

AVAILABLE = dict.fromkeys([*BUILTIN, *BUILTIN_THEMES])


def test_choose_theme_precedence(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('theme = "nord"')
    file_config = load_config(tmp_path / "config.toml", environ={})
    state = AppStateFile(theme="gruvbox")
    env = {"OPSTUI_THEME": "opstui-256"}
    assert th.choose_theme(Config(), None, environ={}) == "opstui-dark"
    assert th.choose_theme(Config(), state, environ={}) == "gruvbox"
    assert th.choose_theme(file_config, state, environ={}) == "nord"
    assert th.choose_theme(file_config, state, environ=env) == "opstui-256"
    assert th.choose_theme(file_config, state, "opstui-light", environ=env) == "opstui-light"


def test_choose_theme_with_config_from_the_cli_path(tmp_path: Path) -> None:
    """The CLI merges --theme into config (with_overrides) and env into load_config:
    the flag must still beat the environment."""
    (tmp_path / "config.toml").write_text('theme = "nord"')
    env = {"OPSTUI_THEME": "opstui-256"}
    config = load_config(tmp_path / "config.toml", environ=env)
    assert config.theme == "opstui-256" and config.origin("theme") == "env"
    assert th.choose_theme(config, None, environ=env) == "opstui-256"
    flagged = with_overrides(config, theme="opstui-light")
    assert th.choose_theme(flagged, None, environ=env) == "opstui-light"


def test_choose_theme_skips_unavailable_names() -> None:
    config = with_overrides(Config(), theme="no-such-theme")
    state = AppStateFile(theme="deleted-user-theme")
    assert th.choose_theme(config, state, available=AVAILABLE, environ={}) == "opstui-dark"
    state = AppStateFile(theme="dracula")
    assert th.choose_theme(config, state, available=AVAILABLE, environ={}) == "dracula"


def test_choose_compact() -> None:
    assert th.choose_compact(Config(), None) is None
    assert th.choose_compact(Config(), AppStateFile(compact=True)) is True
    flagged = with_overrides(Config(), compact=True)
    assert th.choose_compact(flagged, AppStateFile(compact=False)) is True


def test_css_probe_catches_values_textual_cannot_use() -> None:
    """The last line of defence: a value that slipped past the checks but that Textual's
    CSS parser rejects would crash the app when the theme is applied."""
    generated = BUILTIN_THEMES["nord"].to_color_system().generate()
    variables = {**generated, "border": "#fff 40% 3", "sla-ok": "#00ff00"}
    assert th._unusable_in_css(variables, ["border", "sla-ok"]) == ["border"]
    assert th._unusable_in_css(generated, list(generated)) == []


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_textual_themes_pass_our_own_validation(name: str) -> None:
    """Our checks are not stricter than Textual: each of its themes, written out as a
    theme file, validates."""
    t = BUILTIN_THEMES[name]
    data = {k: getattr(t, k) for k in th._COLOUR_KEYS if getattr(t, k) is not None}
    data.update(name=f"copy-{name}", dark=t.dark, variables=dict(t.variables))
    theme, _ = th.parse_theme(data, "copy")
    assert theme.variables == t.variables


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_themes_pass_the_css_probe(name: str) -> None:
    # load_themes skips the (slower) CSS probe for the shipped files: this is why.
    data = tomllib.loads((builtin_themes_dir() / f"{name}.toml").read_text())
    th.parse_theme(data, name, probe_css=True)
    assert th._unusable_in_css(dict(data["variables"]), list(data["variables"])) == []


def test_user_theme_values_are_probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _user_dir(tmp_path)
    (d / "odd.toml").write_text('primary = "#fff"\n[variables]\nborder = "#fff"\n')
    monkeypatch.setattr(th, "_css_parses", lambda variables, names: False)
    loaded, problems = th.load_themes(d)
    assert problems == [f"{d / 'odd.toml'}: variables.border: '#fff' is not usable in CSS"]
    assert len(loaded) == len(BUILTIN)  # the shipped files are not probed at start-up


@pytest.mark.parametrize("name", BUILTIN)
def test_status_colours_stay_readable_on_the_cursor_row(name: str) -> None:
    """Grids colour cells by status on top of the cursor background (bold text):
    at least 3:1 (WCAG for bold/large text), 4.5:1 in the high-contrast theme."""
    data = tomllib.loads((builtin_themes_dir() / f"{name}.toml").read_text())
    variables = data["variables"]
    cursor = variables["block-cursor-background"]
    need = 4.5 if name == "opstui-high-contrast" else 3.0
    assert contrast(variables["block-cursor-foreground"], cursor) >= 7.0
    for var in th.APP_VARIABLES:
        ratio = contrast(variables[var], cursor)
        assert ratio >= need, f"{name}: {var} on the cursor row is {ratio:.2f}:1"
    assert contrast(cursor, data["background"]) >= 1.1  # the row stands out
