"""A store on a PostgreSQL server: schema versions, one-line errors, moving a team."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PG_ADMIN_URL, pg_url, run_cli

from opstui.domain.clock import Clock
from opstui.errors import StoreError
from opstui.store import dialect
from opstui.store.schema import SCHEMA_VERSION, open_database
from opstui.store.transfer import copy_store, verify


def test_schema_version_is_recorded_and_a_newer_one_refused(
    new_pg_db: Callable[..., str], clock: Clock
) -> None:
    url = new_pg_db()
    db = open_database(url, clock=clock, unix_user="t")
    with db.write() as conn:
        rows = dict(conn.exec_driver_sql("SELECT key, value FROM meta").all())
        assert rows["schema_version"] == str(SCHEMA_VERSION)
        assert dialect.has_server_objects(conn)
        conn.exec_driver_sql(
            f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'"
        )
    db.dispose()
    with pytest.raises(StoreError, match="newer opstui"):
        open_database(url, clock=clock)


def test_an_older_schema_is_upgraded_in_one_transaction(
    new_pg_db: Callable[..., str], clock: Clock
) -> None:
    url = new_pg_db()
    db = open_database(url, clock=clock, unix_user="t")
    with db.write() as conn:  # what a v2 store lacked
        conn.exec_driver_sql("DROP INDEX ix_item_sla_check")
        for column in ("sla_fr_warn", "sla_res_warn", "sla_res_start", "sla_check_at"):
            conn.exec_driver_sql(f"ALTER TABLE item DROP COLUMN {column}")
        conn.exec_driver_sql("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.dispose()
    db = open_database(url, clock=clock)
    with db.read() as conn:
        assert {"sla_check_at", "sla_fr_warn"} <= dialect.column_names(conn, "item")
        meta = dict(conn.exec_driver_sql("SELECT key, value FROM meta").all())
    assert meta["schema_version"] == str(SCHEMA_VERSION) and "schema_v3_at" in meta
    db.dispose()


def test_errors_are_one_line(
    new_pg_db: Callable[..., str], pg_admin: Callable[[str], None], tmp_path: Path
) -> None:
    base = PG_ADMIN_URL.rpartition("/")[0]
    url = new_pg_db()
    assert run_cli("init", db=url).returncode == 0
    pg_admin("DROP ROLE IF EXISTS opstui_t_reader")
    pg_admin("CREATE ROLE opstui_t_reader LOGIN")
    try:
        cases = {
            pg_url("opstui_no_such_db"): "does not exist on the server",
            "postgresql://postgres@127.0.0.1:1/ops": "cannot reach the PostgreSQL server",
            url.replace("postgres@", "opstui_t_reader@"): "lacks rights",
            new_pg_db(): "no opstui schema yet",
        }
        for target, message in cases.items():
            out = run_cli("ls", db=target)
            assert out.returncode == 1, target
            assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
            assert "Traceback" not in out.stderr
    finally:
        pg_admin("DROP OWNED BY opstui_t_reader")
        pg_admin("DROP ROLE IF EXISTS opstui_t_reader")
    assert base  # the admin URL names a server


def test_not_an_opstui_database_is_refused(new_pg_db: Callable[..., str]) -> None:
    import psycopg

    url = new_pg_db()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreError, match="not an opstui database"):
        open_database(url)


def test_config_show_masks_the_password() -> None:
    out = run_cli("config", "show", env={"OPSTUI_DB": "postgresql://ops:s3cret@db1.example/ops"})
    assert out.returncode == 0, out.stderr
    assert "s3cret" not in out.stdout and "postgresql://ops:***@db1.example/ops" in out.stdout


# --- migrate ----------------------------------------------------------------------------


@pytest.mark.slow
def test_migrate_round_trips_the_sample(
    sample_db_file: Path, new_pg_db: Callable[..., str], tmp_path: Path
) -> None:
    url = new_pg_db()
    there = run_cli("migrate", "--from", str(sample_db_file), "--to", url, "--json")
    assert there.returncode == 0, there.stderr
    forth = json.loads(there.stdout)
    assert forth["ok"] and all(t["ok"] for t in forth["tables"])
    back_file = tmp_path / "back.db"
    back = run_cli("migrate", "--from", url, "--to", str(back_file), "--json")
    assert back.returncode == 0, back.stderr
    home = json.loads(back.stdout)
    assert [(t["table"], t["rows"], t["sha256"]) for t in home["tables"]] == [
        (t["table"], t["rows"], t["sha256"]) for t in forth["tables"]
    ]
    assert {t["table"]: t["rows"] for t in forth["tables"]}["event"] > 1000
    # the copy is a working store: new ids continue after the copied ones
    out = run_cli("add", "--queue", "support", "--title", "after the move", db=url)
    assert out.returncode == 0, out.stderr
    # a target with data is refused (nothing changes), unless --replace
    again = run_cli("migrate", "--from", str(sample_db_file), "--to", url)
    assert again.returncode == 1 and "already holds data" in again.stderr
    assert run_cli("migrate", "--from", str(back_file), "--to", url, "--replace").returncode == 0


def test_copy_detects_a_difference(
    sample_db_file: Path, new_pg_db: Callable[..., str], clock: Clock
) -> None:
    src = open_database(sample_db_file, create=False, readonly=True, clock=clock)
    dst = open_database(new_pg_db(), clock=clock)
    try:
        assert all(c.ok for c in copy_store(src, dst))
        with dst.write() as conn:
            conn.exec_driver_sql("UPDATE comment SET body = body || '!' WHERE id = 1")
        bad = [c.table for c in verify(src, dst) if not c.ok]
        assert bad == ["comment"]
    finally:
        src.dispose()
        dst.dispose()


def test_doctor_checks_a_server_store(
    new_pg_db: Callable[..., str], pg_admin: Callable[[str], None]
) -> None:
    url = new_pg_db()
    assert run_cli("init", db=url).returncode == 0
    out = run_cli("doctor", "--json", db=url)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    checks = {f["check"]: f["status"] for f in report["findings"]}
    assert checks == {
        "server": "ok",
        "schema": "ok",
        "rights": "ok",
        "listener": checks["listener"],  # ok, or warn on a very busy machine
        "latency": checks["latency"],
    }
    assert checks["listener"] in ("ok", "warn")
    pg_admin("DROP ROLE IF EXISTS opstui_t_doc")
    pg_admin("CREATE ROLE opstui_t_doc LOGIN")
    try:
        out = run_cli("doctor", "--json", db=url.replace("postgres@", "opstui_t_doc@"))
        assert out.returncode == 1
        problems = {
            f["check"] for f in json.loads(out.stdout)["findings"] if f["status"] == "problem"
        }
        assert "rights" in problems
    finally:
        pg_admin("DROP ROLE IF EXISTS opstui_t_doc")
