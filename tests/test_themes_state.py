"""The app-owned state file: atomic writes, lenient reads, merging."""

from __future__ import annotations

import multiprocessing
import os
import tomllib
from pathlib import Path

import pytest

from opstui.ui.state import AppStateFile, load_state, save_state, update_state


def test_default_path_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSTUI_STATE", str(tmp_path / "s" / "state.toml"))
    assert load_state() == AppStateFile()
    save_state(AppStateFile(theme="nord"))
    assert (tmp_path / "s" / "state.toml").exists()
    assert load_state().theme == "nord"


def test_round_trip_and_no_temp_files_left(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.toml"
    state = AppStateFile(theme="opstui-light", compact=True, layout={"focus": "queues", "n": 3})
    save_state(state, path)
    assert load_state(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["state.toml"]
    text = path.read_text()
    assert text.startswith("# Written by opstui")
    assert tomllib.loads(text)["version"] == 1


def test_missing_corrupt_and_wrong_types_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    assert load_state(path) == AppStateFile() and load_state(path).problem is None
    path.write_text("theme = ")
    state = load_state(path)
    assert state == AppStateFile() and "not valid TOML" in (state.problem or "")
    path.write_text('theme = 3\ncompact = "yes"\nlayout = {focus = "queues", bad = [1]}\n')
    state = load_state(path)
    assert state.theme is None and state.compact is None
    assert state.layout == {"focus": "queues"}
    assert "theme must be a theme name" in (state.problem or "")
    assert "compact must be true or false" in (state.problem or "")
    path.write_bytes(b"\xff\xfe\x00")
    assert "not valid TOML" in (load_state(path).problem or "")


def test_unreadable_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.mkdir()
    state = load_state(path)
    assert state == AppStateFile() and "cannot read" in (state.problem or "")


def test_unknown_keys_survive_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.write_text('version = 1\ntheme = "nord"\nfuture_key = "kept"\n[future_table]\na = 1\n')
    update_state(path, compact=True)
    data = tomllib.loads(path.read_text())
    assert data["future_key"] == "kept" and data["future_table"] == {"a": 1}
    assert data["theme"] == "nord" and data["compact"] is True


def test_update_merges_layout(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    update_state(path, layout={"focus": "queues"})
    update_state(path, theme="gruvbox", layout={"sort": "due"})
    state = load_state(path)
    assert state.layout == {"focus": "queues", "sort": "due"}
    assert state.theme == "gruvbox"


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.toml"
    save_state(AppStateFile(theme="nord"), path)

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_state(AppStateFile(theme="dracula"), path)
    monkeypatch.undo()
    assert load_state(path).theme == "nord"
    assert [p.name for p in tmp_path.iterdir()] == ["state.toml"]


def _writer(path: str, theme: str, n: int) -> None:
    for i in range(n):
        update_state(Path(path), theme=theme, layout={theme: i})


def test_concurrent_writers_never_leave_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), t, 40)) for t in ("nord", "gruvbox")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    state = load_state(path)
    assert state.problem is None
    assert state.theme in ("nord", "gruvbox")
    assert [p.name for p in tmp_path.iterdir()] == ["state.toml"]
