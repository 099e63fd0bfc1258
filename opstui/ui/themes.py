"""Themes: TOML files loaded as Textual ``Theme`` objects, validated, registered.

Where themes come from
    * built-in: ``opstui/themes/*.toml`` (shipped in the wheel),
    * the user's: ``*.toml`` in :func:`opstui.paths.user_themes_dir`
      (``<config dir>/themes``, next to ``config.toml``),
    * Textual's own themes (``textual-dark``, ``nord``, ...), which stay available.

A theme file (see ``themes/opstui-dark.toml`` for a commented example)::

    name = "my-theme"          # optional: defaults to the file name without .toml
    description = "..."        # optional, shown by `opstui themes ls`
    dark = true
    primary = "#4c9be8"        # required; secondary, accent, warning, error, success,
    background = "#0f1419"     # foreground, background, surface, panel, boost optional
    [variables]
    sla-breached = "#ff6b6b"   # the app variables below, or Textual's own variables

Every colour is checked with ``textual.color.Color.parse``; unknown keys, unknown
variable names (typos such as ``sla-breach``) and bad values are reported.  A bad file
is skipped whole; all problems come back together from :func:`register_themes` as
one-line strings and :func:`install` shows them in ONE notification.  The default theme
is kept.

App variables (use them in TCSS as ``$sla-breached`` etc.): :data:`APP_VARIABLES`.  Apps
must return :func:`variable_defaults` from ``get_theme_variable_defaults`` so every theme,
including Textual's own, defines them (derived from that theme's success/warning/error).

Which theme is used at start-up: :func:`choose_theme`, precedence
``--theme`` flag > ``OPSTUI_THEME`` > ``theme`` in config.toml > last theme picked in the
app (state file) > ``opstui-dark``.  A name that is not available falls through to the
next candidate (and is reported).
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import BUILTIN_THEMES, Theme

from ..config import THEME_NAME_RE, Config
from ..domain.text import one_line
from ..paths import builtin_themes_dir, user_themes_dir
from .state import AppStateFile, load_state, update_state

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_THEME = "opstui-dark"
DEFAULT_LIGHT_THEME = "opstui-light"
THEME_ENV = "OPSTUI_THEME"

#: Variables the dashboard's TCSS uses, in every theme.
APP_VARIABLES: tuple[str, ...] = (
    "sla-ok",
    "sla-warning",
    "sla-breached",
    "sla-paused",
    "sla-met",
    "sla-drift",
    "load-ok",
    "load-high",
    "load-over",
    "flag-unowned",
    "flag-away",
)

#: Problems from loading themes: one line each, "FILE: what is wrong".
ThemeProblems = list[str]

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_OTHER_KEYS = {"name", "description", "dark", "luminosity_spread", "text_alpha", "variables"}
_MAX_THEME_BYTES = 64 * 1024
_MAX_NOTIFY_LINES = 8


@functools.cache
def _textual_variable_names() -> frozenset[str]:
    """Names Textual's colour system defines (valid keys for ``[variables]``)."""
    return frozenset(Theme(name="probe", primary="#000000").to_color_system().generate())


_STYLE_VARIABLE_SUFFIXES = ("-text-style", "-style", "-style-hover")


@dataclass(frozen=True)
class ThemeFile:
    """A theme that loaded cleanly, and where it came from."""

    theme: Theme
    path: Path | None
    origin: str  # "opstui" (built-in), "user", or "textual"
    description: str = ""

    @property
    def name(self) -> str:
        return self.theme.name


class ThemeFileError(ValueError):
    """A theme file that cannot be used; str() is one line: "FILE: reason; reason"."""


# --- parsing ------------------------------------------------------------------------------


def _check_colour(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a colour string (got {value!r})"
    try:
        Color.parse(value)
    except ColorParseError as exc:
        hint = f" (did you mean {exc.suggested_color!r}?)" if exc.suggested_color else ""
        return f"{value!r} is not a colour{hint}"
    return None


def _check_variable(name: str, value: Any) -> str | None:
    """Textual variables may be "COLOUR", "COLOUR NN%", "auto NN%" or text styles."""
    if not isinstance(value, str):
        return f"must be a string (got {value!r})"
    if name in APP_VARIABLES:
        # Used in TCSS as "$sla-ok" and "$sla-ok 20%": must be a plain colour.
        return _check_colour(value)
    if name.endswith(_STYLE_VARIABLE_SUFFIXES):
        words = value.split()
        bad = [w for w in words if w not in VALID_STYLE_FLAGS]
        if not words or bad:
            return f"{value!r} is not a text style (e.g. 'bold', 'underline', 'none')"
        return None
    parts = value.split()
    if len(parts) == 2 and parts[1].endswith("%"):
        try:
            pct = float(parts[1][:-1])
        except ValueError:
            return f"{value!r}: {parts[1]!r} is not a percentage"
        if not 0 <= pct <= 100:
            return f"{value!r}: percentage must be 0-100%"
        if parts[0] == "auto":
            return None
        return _check_colour(parts[0])
    if len(parts) != 1:
        return f"{value!r} is not a colour"
    return _check_colour(value)


def parse_theme(
    data: Mapping[str, Any],
    source: str,
    default_name: str | None = None,
    *,
    probe_css: bool = True,
) -> tuple[Theme, str]:
    """Validate a parsed theme table; returns (Theme, description).

    Raises ThemeFileError listing every problem in the file on one line.  ``probe_css``
    also builds the colour system and runs the variables through Textual's CSS parser
    (~15 ms a file; the shipped themes skip it at start-up because the tests probe them).
    """
    problems: list[str] = []
    name = data.get("name", default_name)
    if not isinstance(name, str) or not THEME_NAME_RE.match(name):
        problems.append(
            f"name: {name!r} is not a theme name (letters, digits, '-', '_', '.'; up to 64)"
        )
    for key in data:
        if key not in _COLOUR_KEYS and key not in _OTHER_KEYS:
            problems.append(f"{key}: unknown key")
    if "primary" not in data:
        problems.append("primary: missing (every theme needs a primary colour)")
    colours: dict[str, str] = {}
    for key in _COLOUR_KEYS:
        if key in data:
            reason = _check_colour(data[key])
            if reason:
                problems.append(f"{key}: {reason}")
            else:
                colours[key] = data[key]
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        problems.append(f"dark: must be true or false (got {dark!r})")
    numbers: dict[str, float] = {}
    for key, lo, hi in (("luminosity_spread", 0.0, 1.0), ("text_alpha", 0.0, 1.0)):
        if key in data:
            value = data[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not lo <= value <= hi
            ):
                problems.append(f"{key}: must be a number from {lo:g} to {hi:g} (got {value!r})")
            else:
                numbers[key] = float(value)
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append("description: must be a string")
        description = ""
    variables_raw = data.get("variables", {})
    variables: dict[str, str] = {}
    if not isinstance(variables_raw, dict):
        problems.append("variables: must be a table ([variables])")
    else:
        for var, value in variables_raw.items():
            if var not in APP_VARIABLES and var not in _textual_variable_names():
                problems.append(f"variables.{var}: unknown variable{_suggest(var)}")
                continue
            reason = _check_variable(var, value)
            if reason:
                problems.append(f"variables.{var}: {reason}")
            else:
                variables[var] = value
    if problems:
        raise ThemeFileError(f"{source}: {'; '.join(problems)}")
    assert isinstance(name, str)
    theme = Theme(
        name=name,
        dark=bool(dark),
        variables=variables,
        **colours,  # type: ignore[arg-type]
        **numbers,  # type: ignore[arg-type]
    )
    if probe_css:
        try:  # the colour system must build (it parses every colour once more)
            theme.to_color_system().generate()
        except Exception as exc:  # pragma: no cover - every value was checked above
            raise ThemeFileError(f"{source}: cannot build colours: {exc}") from None
    # Only the theme's own variables are probed (their values never refer to others),
    # which keeps this to a millisecond or two per file.
    unusable = _unusable_in_css(dict(variables), list(variables)) if probe_css else []
    if unusable:
        raise ThemeFileError(
            f"{source}: "
            + "; ".join(f"variables.{v}: {variables[v]!r} is not usable in CSS" for v in unusable)
        )
    return theme, one_line(description, 80)


def _css_probe(names: list[str]) -> str:
    rules = []
    for i, var in enumerate(names):
        if var.endswith(_STYLE_VARIABLE_SUFFIXES):
            rules.append(f"#v{i} {{ text-style: ${var}; }}")
        elif var in APP_VARIABLES:  # the dashboard uses "$sla-ok" and "$sla-ok 20%"
            rules.append(f"#v{i} {{ color: ${var}; background: ${var} 20%; }}")
        else:
            rules.append(f"#v{i} {{ color: ${var}; }}")
    return "\n".join(rules)


def _css_parses(variables: dict[str, str], names: list[str]) -> bool:
    from textual.css.stylesheet import Stylesheet, StylesheetParseError

    sheet = Stylesheet(variables=variables)
    sheet.add_source(_css_probe(names), read_from=("theme-probe", ""))
    try:
        sheet.parse()
    except StylesheetParseError:
        return False
    return True


def _unusable_in_css(variables: dict[str, str], names: list[str]) -> list[str]:
    """Variables whose values Textual's CSS parser rejects (a last line of defence: a
    theme that passed the checks above but would crash the app when applied)."""
    if not names or _css_parses(variables, names):
        return []
    return [name for name in names if not _css_parses(variables, [name])]


def _suggest(var: str) -> str:
    import difflib

    close = difflib.get_close_matches(var, [*APP_VARIABLES, *_textual_variable_names()], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_theme_file(path: Path, origin: str = "user") -> ThemeFile:
    """Read and validate one theme file; raises ThemeFileError (one line)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_THEME_BYTES + 1)
    except OSError as exc:
        raise ThemeFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > _MAX_THEME_BYTES:
        raise ThemeFileError(f"{path}: larger than {_MAX_THEME_BYTES // 1024} KiB, not a theme")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ThemeFileError(f"{path}: not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path}: not valid TOML: {exc}") from None
    theme, description = parse_theme(
        data, str(path), default_name=path.stem, probe_css=origin != "opstui"
    )
    return ThemeFile(theme=theme, path=path, origin=origin, description=description)


def _theme_paths(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if not p.name.startswith("."))
    except OSError:
        return []


def load_themes(user_dir: Path | None = None) -> tuple[list[ThemeFile], ThemeProblems]:
    """All opstui themes (built-in, then the user's), and the problems found.

    A user theme may not reuse the name of a built-in or Textual theme, nor of another
    user file; the later file is reported and skipped.
    """
    user_dir = user_themes_dir() if user_dir is None else user_dir
    loaded: list[ThemeFile] = []
    problems: ThemeProblems = []
    taken: dict[str, str] = {name: "a Textual theme" for name in BUILTIN_THEMES}
    for origin, directory in (("opstui", builtin_themes_dir()), ("user", user_dir)):
        if origin == "user":
            try:
                if directory.exists() and not directory.is_dir():
                    problems.append(f"{directory}: is not a directory (user themes are ignored)")
                    continue
            except OSError as exc:
                problems.append(f"{directory}: cannot read: {exc.strerror or exc}")
                continue
        for path in _theme_paths(directory):
            try:
                theme_file = load_theme_file(path, origin)
            except ThemeFileError as exc:
                problems.append(str(exc))
                continue
            if theme_file.name in taken:
                problems.append(
                    f"{path}: name {theme_file.name!r} is already used by {taken[theme_file.name]}"
                    " (choose another name)"
                )
                continue
            taken[theme_file.name] = (
                "an opstui built-in theme" if origin == "opstui" else f"{path.name}"
            )
            loaded.append(theme_file)
    return loaded, problems


def all_theme_files(user_dir: Path | None = None) -> tuple[list[ThemeFile], ThemeProblems]:
    """Like :func:`load_themes`, plus Textual's own themes (for listings)."""
    loaded, problems = load_themes(user_dir)
    textual = [
        ThemeFile(theme=t, path=None, origin="textual", description="Textual theme")
        for t in BUILTIN_THEMES.values()
    ]
    return [*loaded, *textual], problems


# --- variables ---------------------------------------------------------------------------


def variable_defaults(theme: Theme) -> dict[str, str]:
    """App variable values for ``theme`` when it does not define them itself.

    Derived from the theme's own semantic colours, so Textual's themes (nord, gruvbox,
    textual-light...) show SLA and load states in their own palette.  Return this from
    ``App.get_theme_variable_defaults``::

        def get_theme_variable_defaults(self) -> dict[str, str]:
            return variable_defaults(self.current_theme)
    """
    colours = theme.to_color_system().generate()

    def pick(key: str) -> str:
        value = colours.get(key, "")
        try:
            Color.parse(value)
        except ColorParseError:
            return "#808080"  # ansi_default and friends: a neutral grey
        return value

    return {
        "sla-ok": pick("success"),
        "sla-warning": pick("warning"),
        "sla-breached": pick("error"),
        "sla-paused": pick("foreground-darken-2") if theme.dark else pick("foreground-lighten-2"),
        "sla-met": pick("secondary"),
        "sla-drift": pick("accent"),
        "load-ok": pick("success"),
        "load-high": pick("warning"),
        "load-over": pick("error"),
        "flag-unowned": pick("accent"),
        "flag-away": pick("secondary"),
    }


# --- choosing ----------------------------------------------------------------------------


def theme_candidates(
    config: Config,
    state: AppStateFile | None,
    flag: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(name, where it came from) in precedence order, ending with the default."""
    env = os.environ if environ is None else environ
    out: list[tuple[str, str]] = []
    if flag:
        out.append((flag, "--theme"))
    origin = config.origin("theme")
    if config.theme and origin == "flag":
        out.append((config.theme, "--theme"))
    env_value = (env.get(THEME_ENV) or "").strip()
    if env_value:
        out.append((env_value, THEME_ENV))
    if config.theme and origin not in ("flag", "env"):
        out.append((config.theme, f"theme in {config.source}"))
    if state is not None and state.theme:
        out.append((state.theme, "the state file"))
    out.append((DEFAULT_THEME, "default"))
    seen: set[str] = set()
    unique = []
    for name, why in out:
        if name not in seen:
            seen.add(name)
            unique.append((name, why))
    return unique


def choose_theme(
    config: Config,
    state: AppStateFile | None,
    flag: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    available: Mapping[str, Any] | None = None,
) -> str:
    """The theme to start with: flag > OPSTUI_THEME > config file > state file > default.

    With ``available`` (e.g. ``app.available_themes``), names not in it are skipped.
    """
    for name, _why in theme_candidates(config, state, flag, environ):
        if available is None or name in available:
            return name
    return DEFAULT_THEME


def resolve_theme(
    app: App[Any],
    config: Config,
    state: AppStateFile | None,
    flag: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, ThemeProblems]:
    """Like choose_theme against the app's registered themes, reporting skipped names."""
    problems: ThemeProblems = []
    available = app.available_themes
    for name, why in theme_candidates(config, state, flag, environ):
        if name in available:
            return name, problems
        problems.append(f"unknown theme {name!r} (from {why}); `opstui themes ls` lists them")
    return "textual-dark", problems


# --- the app -----------------------------------------------------------------------------


def register_themes(app: App[Any], user_dir: Path | None = None) -> ThemeProblems:
    """Register opstui's and the user's themes with ``app``; returns the problems."""
    loaded, problems = load_themes(user_dir)
    for theme_file in loaded:
        app.register_theme(theme_file.theme)
    return problems


def notify_problems(app: App[Any], problems: ThemeProblems, title: str = "Theme problems") -> None:
    """One notification for all problems (file paths are shown literally, not as markup)."""
    if not problems:
        return
    lines = [f"• {one_line(p, 200)}" for p in problems[:_MAX_NOTIFY_LINES]]
    if len(problems) > _MAX_NOTIFY_LINES:
        lines.append(f"… and {len(problems) - _MAX_NOTIFY_LINES} more")
    lines.append("Run `opstui config check` for details.")
    app.notify("\n".join(lines), title=title, severity="warning", timeout=20, markup=False)


@dataclass
class ThemeInstall:
    """What :func:`install` did (handy for tests and the status line)."""

    theme: str
    problems: ThemeProblems = field(default_factory=list)
    state_path: Path | None = None
    saved: list[str] = field(default_factory=list)
    save_error: str | None = None


def install(
    app: App[Any],
    config: Config,
    theme_flag: str | None = None,
    *,
    config_error: str | None = None,
    user_dir: Path | None = None,
    state_path: Path | None = None,
    persist: bool = True,
    environ: Mapping[str, str] | None = None,
) -> ThemeInstall:
    """Call from the app's ``on_mount``: register themes, apply the chosen one, report
    problems in one notification, and remember palette theme changes in the state file.

    ``config_error`` (AppState.config_error) is shown in its own notification.
    ``persist=False`` turns the state-file writing off (tests that do not test it).
    """
    state = load_state(state_path)
    problems = register_themes(app, user_dir)
    name, choice_problems = resolve_theme(app, config, state, theme_flag, environ)
    problems.extend(choice_problems)
    if state.problem:
        problems.append(state.problem)
    result = ThemeInstall(theme=name, problems=problems, state_path=state_path)
    app.theme = name
    if config_error:
        app.notify(
            f"{one_line(config_error, 300)}\nUsing the defaults.",
            title="Config file not used",
            severity="error",
            timeout=30,
            markup=False,
        )
    notify_problems(app, problems)
    if persist:
        _watch_theme(app, config, result)
    return result


def _watch_theme(app: App[Any], config: Config, result: ThemeInstall) -> None:
    baseline = {"name": result.theme}

    def on_theme_changed(theme: Theme) -> None:
        if theme.name == baseline["name"]:
            return  # the start-up theme being applied, not a choice
        baseline["name"] = theme.name
        try:
            update_state(result.state_path, theme=theme.name)
        except OSError as exc:
            result.save_error = f"could not remember the theme: {exc.strerror or exc}"
            app.notify(result.save_error, severity="warning", markup=False)
            return
        result.saved.append(theme.name)
        pinned = config.theme if config.origin("theme") in ("file", "env") else None
        if pinned and pinned != theme.name:
            where = "OPSTUI_THEME" if config.origin("theme") == "env" else config.source
            app.notify(
                f"Theme {theme.name} remembered, but {where} sets theme = {pinned}, "
                "which wins at the next start.",
                severity="information",
                markup=False,
            )

    app.theme_changed_signal.subscribe(app, on_theme_changed)


def remember_compact(compact: bool, state_path: Path | None = None) -> str | None:
    """Save the compact-layout choice; returns an error line instead of raising."""
    try:
        update_state(state_path, compact=compact)
    except OSError as exc:
        return f"could not remember the layout: {exc.strerror or exc}"
    return None


def choose_compact(config: Config, state: AppStateFile | None) -> bool | None:
    """Compact layout: flag/env/config file > state file > None (decide by width,
    ``config.compact_below``)."""
    if config.origin("compact") != "default":
        return config.compact
    if state is not None and state.compact is not None:
        return state.compact
    return None
