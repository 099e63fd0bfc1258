"""Terminal fit, checked in a real tmux server (TERM=screen-256color): the bell reaches
tmux, opstui-256 arrives as exact 256-colour palette indexes, NO_COLOR leaves only greys,
and the theme is switched through the command palette with the keyboard alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
]

ROOT = Path(__file__).resolve().parents[1]

HOST = textwrap.dedent(
    """
    import sys
    from textual.app import App
    from textual.widgets import Footer, Label
    from opstui.config import load_config
    from opstui.ui import themes as th

    class Host(App):
        CSS = "\\n".join(f"#{v} {{ color: ${v}; background: $surface; }}"
                         for v in th.APP_VARIABLES)
        BINDINGS = [("b", "ring", "Bell")]

        def get_theme_variable_defaults(self):
            return th.variable_defaults(self.current_theme)

        def compose(self):
            for v in th.APP_VARIABLES:
                yield Label(v, id=v)
            yield Footer()

        def on_mount(self):
            th.install(self, load_config(), sys.argv[1] if len(sys.argv) > 1 else None)

        def action_ring(self):
            self.bell()

    Host().run()
    """
)


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        return out.stdout

    def wait_for(self, window: str, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p", "-t", f"t:{window}")
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared in {window}:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"opstui-test-{uuid.uuid4().hex[:8]}")
    t("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "100", "-y", "30")
    t("set", "-g", "default-terminal", "screen-256color")
    socket = t("display", "-p", "#{socket_path}").strip()
    try:
        yield t
    finally:
        t("kill-server")
        if socket:
            Path(socket).unlink(missing_ok=True)


def _launch(tmux: Tmux, tmp_path: Path, window: str, *args: str, **env: str) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST)
    environ = {
        "PYTHONPATH": str(ROOT),
        "OPSTUI_STATE": str(tmp_path / "state.toml"),
        "OPSTUI_CONFIG": str(tmp_path / "config.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        **env,
    }
    assign = " ".join(f"{k}={v}" for k, v in environ.items())
    unset = "-u NO_COLOR -u COLORTERM -u OPSTUI_THEME " if "NO_COLOR" not in env else ""
    command = f"env {unset}{assign} {sys.executable} {script} {' '.join(args)}; sleep 30"
    tmux("new-window", "-d", "-n", window, command)
    tmux.wait_for(window, "flag-away")
    time.sleep(0.5)


def test_bell_256_colours_and_keyboard_theme_switch(tmux: Tmux, tmp_path: Path) -> None:
    _launch(tmux, tmp_path, "app", "opstui-256")
    assert "screen-256color" in tmux("show", "-g", "default-terminal")

    # exact palette indexes: sla-ok 114, sla-breached 203, surface 235
    coloured = tmux("capture-pane", "-e", "-p", "-t", "t:app")
    assert "\x1b[38;5;114m" in coloured and "\x1b[38;5;203m" in coloured
    assert "\x1b[48;5;235m" in coloured
    assert "38;2;" not in coloured  # no truecolor sequences sent to a 256-colour TERM

    # the bell reaches tmux (the window is in the background, so tmux flags it)
    assert tmux("display", "-p", "-t", "t:app", "#{window_bell_flag}").strip() == "0"
    tmux("send-keys", "-t", "t:app", "b")
    deadline = time.monotonic() + 10
    while tmux("display", "-p", "-t", "t:app", "#{window_bell_flag}").strip() != "1":
        assert time.monotonic() < deadline, "bell never reached tmux"
        time.sleep(0.1)

    # keyboard only: palette -> Theme -> pick a theme
    tmux("send-keys", "-t", "t:app", "C-p")
    tmux.wait_for("app", "🔎")
    tmux("send-keys", "-t", "t:app", "-l", "theme")
    tmux.wait_for("app", "Change the current theme")
    tmux("send-keys", "-t", "t:app", "Enter")
    time.sleep(0.5)
    tmux("send-keys", "-t", "t:app", "-l", "opstui-light")
    time.sleep(1.0)
    tmux("send-keys", "-t", "t:app", "Enter")
    deadline = time.monotonic() + 10
    state = tmp_path / "state.toml"
    while not (state.exists() and 'theme = "opstui-light"' in state.read_text()):
        assert time.monotonic() < deadline, "theme choice was not saved"
        time.sleep(0.1)

    # a new terminal starts in the remembered theme (white background, index 231)
    _launch(tmux, tmp_path, "again")
    assert "\x1b[48;5;231m" in tmux("capture-pane", "-e", "-p", "-t", "t:again")


def test_no_color_in_tmux(tmux: Tmux, tmp_path: Path) -> None:
    _launch(tmux, tmp_path, "nc", "opstui-dark", NO_COLOR="1")
    coloured = tmux("capture-pane", "-e", "-p", "-t", "t:nc")
    indexes = {int(n) for n in re.findall(r"\x1b\[[34]8;5;(\d+)m", coloured)}
    assert indexes, "expected some (grey) colours"
    cube_greys = {16, 59, 102, 145, 188, 231}
    assert all(232 <= n <= 255 or n in cube_greys for n in indexes), indexes
    assert "38;2;" not in coloured
    assert os.environ.get("NO_COLOR") is None  # the test did not leak it
