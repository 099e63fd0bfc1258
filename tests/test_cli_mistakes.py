"""The command line catches mistakes: unknown filter values, stale or future versions,
arguments that are not text; output to a pipe is never cut to a terminal's width."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

LONG = "Printer on the second floor jams on every duplex job since the firmware update"


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("mistakes") / "cli.db"
    for args in (
        ("init",),
        ("people", "add", "hiro", "--name", "Hiro Tanaka"),
        ("queues", "add", "support"),
        ("add", "-q", "support", "-t", LONG),
    ):
        r = run_cli(*args, db=db)
        assert r.returncode == 0, r.stderr
    return db


@pytest.mark.parametrize(
    "args, message",
    [
        (("-q", "nosuch"), "unknown queue 'nosuch': known: support"),
        (("-q", "suport"), "unknown queue 'suport': did you mean 'support'?"),
        (("-s", "bogus"), "unknown status 'bogus': known: "),
        (("-s", "in_prgress"), "did you mean 'in_progress'"),
        (("-o", "hir"), "unknown owner 'hir': did you mean 'hiro'?"),
        (("-p", "P9"), "priority must be P1..P4"),
    ],
)
def test_unknown_filter_values_are_errors(cli_db: Path, args: tuple[str, ...], message: str):
    r = run_cli("ls", *args, db=cli_db)
    assert r.returncode == 1 and r.stdout == ""
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_piped_output_is_never_cut_and_width_forces_one(cli_db: Path):
    r = run_cli("ls", db=cli_db, env={"COLUMNS": "80"})  # stdout is a pipe here
    assert r.returncode == 0 and LONG in r.stdout
    r = run_cli("ls", "--width", "60", db=cli_db)
    assert r.returncode == 0 and LONG not in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 60


def test_if_version_newer_than_the_item_says_so(cli_db: Path):
    r = run_cli("assign", "SUP-1", "hiro", "--if-version", "99", db=cli_db)
    assert r.returncode == 1
    assert "SUP-1 is at version 1: --if-version 99 is newer than the item" in r.stderr
    r = run_cli("show", "SUP-1", db=cli_db)
    assert "owner (unowned)" in r.stdout  # nothing changed


def test_arguments_that_are_not_text_get_one_line_naming_them(cli_db: Path):
    bad = "bad \udcff"  # the byte 0xff, passed to the process as it is
    r = run_cli("edit", "SUP-1", "--title", bad, db=cli_db)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "opstui: --title: 'bad \ufffd' is not valid UTF-8 text (byte 0xff); nothing was changed"
    ]
    r = run_cli("comment", "SUP-1", bad, db=cli_db)
    assert r.returncode == 2 and "comment: argument 2:" in r.stderr
    assert "internal error" not in r.stderr
