"""Two terminals editing the same item: the second is refused, told who changed what,
and nothing is silently lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .conftest import assert_one_line_error, invoke, make_db, run_cli


def _version(db: Path, key: str) -> int:
    return json.loads(invoke(db, "show", key, "--json").stdout)["version"]


def test_second_edit_is_refused_naming_who_and_what(tmp_path: Path) -> None:
    db = make_db(tmp_path / "two.db")
    seen = _version(db, "OPS-2")  # both terminals show OPS-2 at this version
    first = run_cli(
        db, "edit", "OPS-2", "--title", "Ana's wording", "--if-version", str(seen), user="ana"
    )
    assert first.code == 0, first.stderr
    second = run_cli(
        db, "edit", "OPS-2", "--title", "Ben's wording", "--if-version", str(seen), user="ben"
    )
    assert_one_line_error(
        second, "changed by ana", "title", "Ana's wording", "nothing was overwritten"
    )
    con = sqlite3.connect(db)
    title, version = con.execute("SELECT title, version FROM item WHERE key = 'OPS-2'").fetchone()
    assert (title, version) == ("Ana's wording", seen + 1)
    assert (
        con.execute("SELECT count(*) FROM event WHERE new = ?", ("Ben's wording",)).fetchone()[0]
        == 0
    )
    con.close()


def test_every_kind_of_stale_change_is_refused(tmp_path: Path) -> None:
    db = make_db(tmp_path / "two.db")
    seen = _version(db, "OPS-1")
    assert invoke(db, "assign", "OPS-1", "ben", "--if-version", str(seen), user="ana").code == 0
    for args, needle in [
        (("mv", "OPS-1", "blocked"), "owner"),
        (("assign", "OPS-1", "--none"), "owner"),
        (("edit", "OPS-1", "--priority", "P1"), "owner"),
    ]:
        res = invoke(db, *args, "--if-version", str(seen), user="ben")
        assert_one_line_error(res, "changed by ana", needle)
    # a comment never conflicts, and the refused changes left no trace
    assert invoke(db, "comment", "OPS-1", "seen it", user="ben").code == 0
    data = json.loads(invoke(db, "show", "OPS-1", "--json").stdout)
    assert (data["owner"], data["status"], data["priority"]) == ("ben", "in_progress", "P3")
    assert data["version"] == seen + 1
    assert [c["body"] for c in data["comments"]] == ["seen it"]
    # with the fresh version the same change goes through
    assert invoke(db, "mv", "OPS-1", "blocked", "--if-version", str(seen + 1), user="ben").code == 0
