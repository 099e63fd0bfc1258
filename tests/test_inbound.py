"""Items from a pipe (issue 19, inbound): `opstui ingest` of a JSON object or JSON lines,
create or update by key or external key, all or nothing with the line and the reason."""

from __future__ import annotations

from pathlib import Path

from opstui.store import queries as q
from opstui.store.engine import Database
from tests.conftest import run_cli


def test_create_then_update_by_external_key(team_db: Database, db_path: Path) -> None:
    team_db.dispose()
    alert = '{"queue": "support", "title": "Disk full on web1", "priority": "P1", "external_key": "am-1"}'
    done = run_cli("ingest", "-", db=db_path, input=alert)
    assert done.returncode == 0 and done.stdout.startswith("1 created: SUP-1"), done.stderr
    again = '{"external_key": "am-1", "state": "in_progress", "owner": "bob", "comment": "still firing"}'
    done = run_cli("ingest", db=db_path, input=again)
    assert done.stdout.startswith("1 updated: SUP-1"), done.stderr
    with team_db.read() as conn:
        item = q.get_item(conn, "SUP-1")
    assert item is not None
    assert (item.status, item.owner, item.priority) == ("in_progress", "bob", 1)
    assert item.data["external_key"] == "am-1"
    done = run_cli("ingest", db=db_path, input=again)
    assert (
        done.stdout.startswith("1 updated") or "unchanged" in done.stdout
    )  # a comment is a change


def test_json_lines_are_all_or_nothing(team_db: Database, db_path: Path) -> None:
    team_db.dispose()
    lines = (
        '{"queue": "support", "title": "first"}\n'
        "\n"
        '{"queue": "support", "title": "second", "priority": "P9"}\n'
    )
    done = run_cli("ingest", "-", db=db_path, input=lines)
    assert done.returncode == 1
    assert done.stderr.startswith("opstui: stdin line 3: ") and "priority" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("ingest", "-", db=db_path, input='{"queue": "support"}\nnot json\n')
    assert done.stderr.startswith("opstui: stdin line 2: not JSON")
    done = run_cli("ingest", "-", db=db_path, input='{"queue": "support", "titel": "x"}')
    assert "unknown field 'titel'" in done.stderr
    done = run_cli("ls", "--json", db=db_path)
    assert done.stdout.strip() == "[]"
    good = lines.replace('"P9"', '"P2"')
    assert run_cli("ingest", db=db_path, input=good).stdout.startswith("2 created: SUP-1 SUP-2")
