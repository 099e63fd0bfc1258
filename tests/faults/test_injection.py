"""Markup and escape-sequence payloads in every text field through the CLI: stored
exactly, shown literally, and no ESC or C1 control from data ever reaches stdout."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from .conftest import Result, invoke, make_db, run_cli

PAYLOADS = [
    "[@click=app.quit]x[/]",
    "[/b]",
    "[$accent]",
    "\x1b]52;c;aGk=\x07",
    "\x1b[2J",
    "\x9b31m",
    "'); DROP TABLE items;--",
]
C1 = re.compile("[\x80-\x9f]")


def assert_terminal_safe(res: Result, what: str) -> None:
    assert res.code == 0, (what, res.stderr)
    for stream, raw in (("stdout", res.out), ("stderr", res.err)):
        assert b"\x1b" not in raw, f"{what}: ESC reached {stream}"
        text = raw.decode("utf-8")  # valid UTF-8: no stray C1 bytes either
        assert not C1.search(text), f"{what}: a C1 control reached {stream}"
        assert "\x07" not in text, f"{what}: BEL reached {stream}"


def shown(payload: str) -> str:
    """What a literal display of ``payload`` contains: the printable part, verbatim."""
    return max(re.split(r"[\x00-\x1f\x7f-\x9f]", payload), key=len)


def test_payloads_in_every_field(tmp_path: Path) -> None:
    db = make_db(tmp_path / "inj.db", n_items=1)
    keys = {}
    for n, payload in enumerate(PAYLOADS):
        tag = f"p{n}"
        # every text field a user can set from the command line
        res = invoke(
            db, "people", "add", f"{tag}x", "--name", payload, "--team", payload, "--email", payload
        )
        assert res.code == 0, res.stderr
        res = invoke(db, "queues", "add", f"q{tag}", "--name", payload)
        assert res.code == 0, res.stderr
        res = invoke(
            db,
            "add",
            "-q",
            "ops",
            "-t",
            payload,
            "-b",
            payload,
            "-k",
            payload,
            "--requester",
            payload,
            "-o",
            f"{tag}x",
            "--json",
        )
        assert res.code == 0, res.stderr
        keys[payload] = key = json.loads(res.stdout)["key"]
        assert invoke(db, "comment", key, payload).code == 0
    assert invoke(db, "edit", "OPS-1", "--title", PAYLOADS[0], "--body", PAYLOADS[3]).code == 0

    # stored exactly (read back with sqlite3, not through opstui)
    con = sqlite3.connect(db)
    for n, payload in enumerate(PAYLOADS):
        key = keys[payload]
        row = con.execute(
            "SELECT title, body, kind, requester FROM item WHERE key = ?", (key,)
        ).fetchone()
        assert row == (payload, payload, payload, payload)
        assert con.execute(
            "SELECT name, team, email FROM person WHERE handle = ?", (f"p{n}x",)
        ).fetchone() == (payload, payload, payload)
        assert con.execute("SELECT name FROM queue WHERE slug = ?", (f"qp{n}",)).fetchone() == (
            payload,
        )
        assert con.execute(
            "SELECT comment.body FROM comment JOIN item ON item.id = comment.item_id WHERE item.key = ?",
            (key,),
        ).fetchall() == [(payload,)]
    assert con.execute("SELECT title, body FROM item WHERE key = 'OPS-1'").fetchone() == (
        PAYLOADS[0],
        PAYLOADS[3],
    )
    assert con.execute("SELECT count(*) FROM item").fetchone()[0] == 1 + len(
        PAYLOADS
    )  # nothing dropped
    con.close()

    # shown literally, never interpreted; nothing from the data controls the terminal
    listing = invoke(db, "ls")
    assert_terminal_safe(listing, "ls")
    for payload, key in keys.items():
        res = invoke(db, "show", key)
        assert_terminal_safe(res, f"show {key}")
        assert shown(payload) in res.stdout, (payload, res.stdout[:300])
        assert shown(payload) in listing.stdout, payload
        res = invoke(db, "show", key, "--json")
        assert_terminal_safe(res, f"show {key} --json")
        data = json.loads(res.stdout)
        assert (data["title"], data["body"], data["comments"][0]["body"]) == (
            payload,
            payload,
            payload,
        )
    for args in [
        ("ls", "--json"),
        ("events",),
        ("events", "--json"),
        ("people", "ls"),
        ("people", "ls", "--json"),
        ("queues", "ls"),
        ("queues", "ls", "--json"),
    ]:
        res = invoke(db, *args)
        assert_terminal_safe(res, " ".join(args))
        if args[0] in ("people", "queues") and "--json" not in args:
            for payload in PAYLOADS:
                assert shown(payload) in res.stdout, (args, payload)
    people = json.loads(invoke(db, "people", "ls", "--json").stdout)
    assert {p["name"] for p in people} >= set(PAYLOADS)
    queues = json.loads(invoke(db, "queues", "ls", "--json").stdout)
    assert {q["name"] for q in queues} >= set(PAYLOADS)


def test_payloads_through_a_real_process(tmp_path: Path) -> None:
    """The same through a fresh interpreter and raw pipes (no test runner in between)."""
    db = make_db(tmp_path / "inj.db", n_items=1)
    title = "".join(PAYLOADS)
    res = run_cli(
        db, "add", "-q", "ops", "-t", title, "-b", "-", stdin="\n".join(PAYLOADS).encode()
    )
    assert_terminal_safe(res, "add")
    for args in [("show", "OPS-2"), ("ls",)]:
        res = run_cli(db, *args)
        assert_terminal_safe(res, " ".join(args))
        assert "[@click=app.quit]x[/]" in res.stdout and "DROP TABLE items;--" in res.stdout
    con = sqlite3.connect(db)
    assert con.execute("SELECT title, body FROM item WHERE key = 'OPS-2'").fetchone() == (
        title,
        "\n".join(PAYLOADS),
    )
    con.close()
