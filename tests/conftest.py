"""Shared fixtures: real SQLite files in tmp dirs (and real PostgreSQL databases for the
suites marked ``both_engines``), a frozen clock, no real home dirs.

PostgreSQL tests use ``OPSTUI_TEST_PG`` (default: the server on 127.0.0.1:5432 as role
postgres); each test gets its own database, created with a unique name and dropped after, so
tests run in any order.  Without a server they skip with one line, unless ``CI=true``: then
they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
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


PG_ADMIN_URL = os.environ.get("OPSTUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINES = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_engines: run the test on SQLite and on PostgreSQL (fixture 'engine')"
    )
    config.addinivalue_line("markers", "sqlite_only: about the SQLite file itself")
    config.addinivalue_line("markers", "sqlite_only: about the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    node = metafunc.definition
    if (
        "engine" in metafunc.fixturenames
        and node.get_closest_marker("both_engines")
        and not node.get_closest_marker("sqlite_only")
    ):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a test runs on: SQLite unless the test is marked ``both_engines``."""
    return getattr(request, "param", "sqlite")


def pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Callable[[str], None]]:
    """Run one statement as the PostgreSQL admin role (autocommit)."""
    import psycopg

    try:
        conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except Exception as exc:  # psycopg missing its libpq, server down, no role...
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true needs it")
        pytest.skip(reason)

    def run(sql: str) -> None:
        conn.execute(sql)

    yield run
    conn.close()


@pytest.fixture
def new_pg_db(pg_admin: Callable[[str], None]) -> Iterator[Callable[..., str]]:
    """Make fresh databases (optionally copies of a template); all dropped at the end."""
    made: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"opstui_t_{uuid.uuid4().hex[:12]}"
        pg_admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        made.append(name)
        return pg_url(name)

    yield make
    for name in made:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_schema_template(pg_admin: Callable[[str], None]) -> Iterator[str]:
    """An initialised, empty store used as a template: copying it is cheaper than running
    the schema's DDL for every test."""
    name = f"opstui_schema_{uuid.uuid4().hex[:12]}"
    pg_admin(f"CREATE DATABASE {name}")
    database = open_database(pg_url(name), clock=Clock.frozen(ANCHOR), unix_user="tester")
    database.dispose()
    yield name
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where this test's database lives: a file, or on the server a fresh copy of an
    initialised store."""
    if engine == "postgresql":
        template = request.getfixturevalue("pg_schema_template")
        return request.getfixturevalue("new_pg_db")(template)
    return str(tmp_path / "ops.db")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ops.db"


@pytest.fixture
def db(engine: str, clock: Clock, request: pytest.FixtureRequest) -> Iterator[Database]:
    target = (
        request.getfixturevalue("db_target")
        if engine == "postgresql"
        else request.getfixturevalue("db_path")
    )
    database = open_database(target, clock=clock, unix_user="tester")
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


@pytest.fixture(scope="session")
def sample_pg_template(pg_admin: Callable[[str], None]) -> Iterator[str]:
    """The sample data loaded once into a PostgreSQL database used as a template."""
    from opstui.services.loading import load_file

    name = f"opstui_sample_{uuid.uuid4().hex[:12]}"
    pg_admin(f"CREATE DATABASE {name}")
    database = open_database(pg_url(name), clock=Clock.frozen(ANCHOR), unix_user="loader")
    load_file(database, SAMPLE)
    database.dispose()
    yield name
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sample_db(
    engine: str, tmp_path: Path, clock: Clock, request: pytest.FixtureRequest
) -> Iterator[Database]:
    import sqlite3

    if engine == "postgresql":
        template = request.getfixturevalue("sample_pg_template")
        url = request.getfixturevalue("new_pg_db")(template)
        database = open_database(url, clock=clock, unix_user="tester")
        yield database
        database.dispose()
        return
    sample_db_file = request.getfixturevalue("sample_db_file")
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
    db: Path | str | None = None,
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
