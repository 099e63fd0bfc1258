"""Shared fixtures: real SQLite files in tmp dirs, a frozen clock, no real home dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opstui.domain.clock import Clock
from opstui.store.engine import Database
from opstui.store.schema import open_database

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "shop.toml"
ANCHOR = datetime(2026, 12, 4, 16, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the real config, state and data directories."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("OPSTUI_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("OPSTUI_STATE", str(home / "state.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("OPSTUI_DB", raising=False)
    monkeypatch.delenv("OPSTUI_THEME", raising=False)


@pytest.fixture
def clock() -> Clock:
    return Clock.frozen(ANCHOR)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ops.db"


@pytest.fixture
def db(db_path: Path, clock: Clock) -> Iterator[Database]:
    database = open_database(db_path, clock=clock, unix_user="tester")
    yield database
    database.dispose()


@pytest.fixture
def team_db(db: Database) -> Database:
    """A small team: two people, one queue on the default workflow."""
    from opstui.services import people

    people.add_person(db, handle="alice", name="Alice", skills="linux,billing", capacity=40)
    people.add_person(db, handle="bob", name="Bob", skills="linux", capacity=20)
    people.add_queue(db, slug="support", prefix="SUP", triage_owner="alice", wip_limit=5)
    return db


@pytest.fixture(scope="session")
def sample_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample data loaded once (at its anchor time); copy before writing."""
    from opstui.services.loading import load_file

    path = tmp_path_factory.mktemp("sample") / "sample.db"
    database = open_database(path, clock=Clock.frozen(ANCHOR), unix_user="loader")
    load_file(database, SAMPLE)
    database.dispose()
    return path


@pytest.fixture
def sample_db(sample_db_file: Path, tmp_path: Path, clock: Clock) -> Iterator[Database]:
    import sqlite3

    target = tmp_path / "sample.db"
    src = sqlite3.connect(sample_db_file)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    database = open_database(target, clock=clock, unix_user="tester")
    yield database
    database.dispose()


def run_cli(
    *args: str,
    db: Path | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess."""
    argv = [sys.executable, "-m", "opstui"]
    if db is not None:
        argv += ["--db", str(db)]
    argv += list(args)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        argv, capture_output=True, text=True, input=input, env=full_env, timeout=timeout, cwd=ROOT
    )
