"""opstui doctor: a clean bill on a demo database, each problem named on a broken setup,
and the file never touched."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from opstui.services import doctor as d
from tests.faults.conftest import file_digest, invoke, make_db, run_cli


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    res = run_cli(path, "demo", "--path", str(path), "--no-ui")
    assert res.code == 0, res.stderr
    return path


def _findings(res) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    data = json.loads(res.stdout)
    return {f["check"]: f for f in data["findings"]}


def test_demo_database_gets_a_clean_bill(demo_db: Path) -> None:
    before = file_digest(demo_db)
    res = run_cli(demo_db, "doctor")
    assert res.code == 0, res.stdout + res.stderr
    assert "PROBLEM" not in res.stdout and "no problems found" in res.stdout
    for check in ("journal", "integrity", "schema", "filesystem", "sharing", "sqlite", "inotify"):
        assert f" {check} " in res.stdout
    res = invoke(demo_db, "doctor", "--json", "--full")
    assert res.code == 0
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["problems"] == 0
    found = _findings(res)
    assert found["integrity"]["message"] == "integrity_check: ok"
    assert found["journal"]["status"] == "ok" and found["schema"]["status"] == "ok"
    assert file_digest(demo_db) == before


def test_rollback_journal_named(tmp_path: Path) -> None:
    db = make_db(tmp_path / "j.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    before = file_digest(db)
    res = invoke(db, "doctor", "--json")
    assert res.code == 1
    assert _findings(res)["journal"]["status"] == "problem"
    assert "DELETE, not WAL" in _findings(res)["journal"]["message"]
    assert file_digest(db) == before  # the doctor never switches it itself


def test_damaged_pages_named_by_integrity(tmp_path: Path) -> None:
    db = make_db(tmp_path / "c.db", n_items=60)
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    con = sqlite3.connect(db)
    root = con.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'ix_item_updated'"
    ).fetchone()[0]
    con.close()
    start = (root - 1) * page
    data[start + 8 : start + page] = bytes(range(256)) * ((page - 8) // 256) + bytes(
        (page - 8) % 256
    )
    db.write_bytes(bytes(data))
    res = invoke(db, "doctor", "--full")
    assert res.code == 1
    assert "PROBLEM  integrity" in res.stdout, res.stdout
    assert ".recover" in res.stdout


def test_newer_schema_and_foreign_files_named(tmp_path: Path) -> None:
    db = make_db(tmp_path / "n.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.close()
    res = invoke(db, "doctor")
    assert res.code == 1 and "PROBLEM  schema" in res.stdout and "newer opstui" in res.stdout
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    res = invoke(other, "doctor")
    assert res.code == 1 and "not an opstui database" in res.stdout
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"hello" * 100)
    res = invoke(junk, "doctor")
    assert res.code == 1 and "not an SQLite file" in res.stdout
    missing = invoke(tmp_path / "nope.db", "doctor")
    assert missing.code == 1 and "no database at" in missing.stdout


def test_badly_shared_directory_named(tmp_path: Path) -> None:
    shared = tmp_path / "team"
    shared.mkdir()
    db = make_db(shared / "team.db")
    os.chmod(shared, 0o770)  # group-writable, but no setgid
    os.chmod(db, 0o600)  # and the file is private
    res = invoke(db, "doctor", "--json")
    assert res.code == 1
    msg = _findings(res)["sharing"]["message"]
    assert "not setgid" in msg and "not group-readable and -writable" in msg
    assert "chmod g+s" in _findings(res)["sharing"]["fix"]
    os.chmod(shared, 0o2770)
    for p in shared.iterdir():
        os.chmod(p, 0o660)
    res = invoke(db, "doctor", "--json")
    assert _findings(res)["sharing"]["status"] == "ok", _findings(res)["sharing"]


# --- the pure checks with setups this machine does not have ---------------------------------


def test_network_filesystems_are_a_problem() -> None:
    for fs in ("nfs4", "cifs", "fuse.sshfs", "smb3", "9p"):
        f = d.check_filesystem(fs, "/srv/ops")
        assert f.status == d.PROBLEM and "network filesystem" in f.message, fs
    assert d.check_filesystem("ext4").status == d.OK
    assert d.check_filesystem("xfs").status == d.OK
    assert d.check_filesystem("tmpfs").status == d.WARN
    assert d.check_filesystem("fuse.somethingelse").status == d.WARN


def test_sqlite_version_threshold() -> None:
    old = d.check_sqlite_version("3.51.2")
    assert old.status == d.WARN and "3.51.3" in old.message and "WAL-reset" in old.message
    assert "sqlite_version" in old.fix
    assert d.check_sqlite_version("3.40.1").status == d.WARN
    assert d.check_sqlite_version("3.51.3").status == d.OK
    assert d.check_sqlite_version("3.53.0").status == d.OK


def test_inotify_limits() -> None:
    assert d.check_inotify(128, 65536, 3).status == d.OK
    low = d.check_inotify(8, 65536, 1)
    assert low.status == d.PROBLEM and "max_user_instances=8" in low.message and "sysctl" in low.fix
    assert d.check_inotify(128, 200, 1).status == d.PROBLEM
    assert d.check_inotify(128, 65536, 127).status == d.PROBLEM  # nearly all used up
    assert d.check_inotify(None, None).status == d.WARN


def test_sharing_rules() -> None:
    me = {1000}
    dir_ok = d.FileFacts("/srv/ops", stat.S_IFDIR | 0o2770, 0, 1000)
    files_ok = [
        d.FileFacts("/srv/ops/o.db", 0o660, 5, 1000),
        d.FileFacts("/srv/ops/o.db-wal", 0o660, 6, 1000),
    ]
    assert d.check_sharing(dir_ok, files_ok, 5, me)[0].status == d.OK
    wrong_group = [
        d.FileFacts("/srv/ops/o.db", 0o660, 5, 1000),
        d.FileFacts("/srv/ops/o.db-wal", 0o660, 6, 77),
    ]
    f = d.check_sharing(dir_ok, wrong_group, 5, me)[0]
    assert f.status == d.PROBLEM and "o.db-wal belongs to another group" in f.message
    private = d.FileFacts("/home/me", stat.S_IFDIR | 0o755, 5, 5)
    assert (
        d.check_sharing(private, [d.FileFacts("/home/me/o.db", 0o644, 5, 5)], 5, {5})[0].status
        == d.OK
    )
    tmp = d.FileFacts("/tmp", stat.S_IFDIR | 0o1777, 0, 0)
    assert d.check_sharing(tmp, [d.FileFacts("/tmp/o.db", 0o644, 5, 5)], 5, {5})[0].status == d.OK
    outsider = d.check_sharing(dir_ok, files_ok, 9, {9})[0]
    assert outsider.status == d.PROBLEM and "not a member" in outsider.message
