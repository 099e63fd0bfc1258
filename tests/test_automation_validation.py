"""Bad automation definitions are rejected at load with file, entry and reason; nothing loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from opstui.domain import models
from opstui.services import loading as loader
from opstui.services.loading import LoadError
from tests._automation_support import REPO, count, data_with, make_db, new_db

pytestmark = pytest.mark.both_engines

WHERE = "test.toml: workflow 'flow' transition doing -> ready actions[0]"


def _fresh_rejects(tmp_path: Path, data: dict[str, Any], *parts: str) -> None:
    db = new_db(tmp_path / "fresh.db")
    with pytest.raises(LoadError) as err:
        loader.load_data(db, data, source="test.toml")
    message = str(err.value)
    for part in parts:
        assert part in message, message
    # all or nothing: not even the people were kept
    for table in (models.Person, models.Queue, models.Process, models.Item):
        assert count(db, table.__table__) == 0
    assert count(db, models.Workflow.__table__) <= 1  # only the built-in default workflow


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({"type": "move", "queue": "nope"}, "(move): unknown queue 'nope'"),
        ({"type": "move", "queue": "notes"}, "uses workflow 'simple'"),
        (
            {"type": "assign", "rule": "person", "person": "ghost"},
            "(assign): assign: unknown person 'ghost'",
        ),
        (
            {"type": "assign", "rule": "least_loaded", "skill": "juggling"},
            "unknown skill 'juggling'",
        ),
        ({"type": "assign", "rule": "least_loaded"}, "needs skill"),
        ({"type": "assign", "rule": "whoever"}, "rule 'whoever' is not one of"),
        ({"type": "notify", "person": "ghost", "message": "hi"}, "unknown person 'ghost'"),
        ({"type": "notify", "triage_of": "nope", "message": "hi"}, "unknown queue 'nope'"),
        ({"type": "notify", "message": "hi"}, "exactly one of person"),
        (
            {"type": "notify", "person": "ann", "message": "{secret}"},
            "unknown placeholder {secret}",
        ),
        ({"type": "follow_up", "queue": "nope", "title": "x"}, "unknown queue 'nope'"),
        (
            {"type": "follow_up", "queue": "qa", "title": "x", "then": "limbo"},
            "then 'limbo' is not a state",
        ),
        (
            {"type": "follow_up", "queue": "qa", "title": "x", "then": "done"},
            "no transition from its initial state 'new' to 'done'",
        ),
        (
            {
                "type": "follow_up",
                "queue": "qa",
                "title": "x",
                "assign": {"rule": "person", "person": "ghost"},
            },
            "unknown person 'ghost'",
        ),
        (
            {"type": "follow_up", "queue": "qa", "title": "x", "priority": "P9"},
            "priority must be P1..P4",
        ),
        ({"type": "follow_up", "queue": "qa"}, "needs a title"),
        ({"type": "teleport"}, "unknown action type 'teleport'"),
        ({"type": "move", "queue": "qa", "speed": 3}, "unknown key 'speed'"),
    ],
)
def test_bad_actions_are_rejected(tmp_path: Path, action: dict[str, Any], reason: str) -> None:
    _fresh_rejects(tmp_path, data_with([action]), WHERE, reason)


def test_a_self_loop_is_rejected(tmp_path: Path) -> None:
    data = data_with(
        [{"type": "follow_up", "queue": "work", "title": "again", "then": "doing"}],
        transition=("new", "doing"),
    )
    _fresh_rejects(
        tmp_path,
        data,
        "test.toml: workflow 'flow' transition new -> doing",
        "follow-up chain loops",
        "flow:new->doing => flow:new->doing",
    )


def test_a_loop_across_two_workflows_is_rejected(tmp_path: Path) -> None:
    data = data_with(
        [{"type": "follow_up", "queue": "notes", "title": "note {key}", "then": "closed"}]
    )
    # simple: open -> closed creates a flow item and moves it new -> doing, which ...
    data["workflows"][1]["transitions"][0]["actions"] = [
        {"type": "follow_up", "queue": "work", "title": "work {key}", "then": "doing"}
    ]
    # ... runs new -> doing, which creates another note: a loop of three transitions
    data["workflows"][0]["transitions"][0]["actions"] = [
        {"type": "follow_up", "queue": "notes", "title": "n", "then": "closed"}
    ]
    _fresh_rejects(
        tmp_path, data, "follow-up chain loops", "simple:open->closed", "flow:new->doing"
    )


def test_a_chain_without_a_loop_is_fine(tmp_path: Path) -> None:
    data = data_with(
        [{"type": "follow_up", "queue": "notes", "title": "note {key}", "then": "closed"}]
    )
    data["workflows"][1]["transitions"][0]["actions"] = [
        {"type": "follow_up", "queue": "work", "title": "work {key}", "then": "doing"}
    ]
    db = make_db(tmp_path, data)
    assert count(db, models.Queue.__table__) == 3


PROC = {
    "key": "p",
    "name": "P",
    "owner": "ann",
    "queue": "work",
    "trigger": {"cron": "0 9 * * 1"},
    "timezone": "Europe/London",
    "runbook": "1. do it",
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"trigger": {"cron": "0 25 * * *"}}, "cron '0 25 * * *' does not parse"),
        ({"trigger": {"rrule": "FREQ=FORTNIGHTLY"}}, "rrule 'FREQ=FORTNIGHTLY' does not parse"),
        ({"trigger": {"rrule": "FREQ=WEEKLY;BYDAY=XX"}}, "does not parse"),
        ({"trigger": {"event": "task:limbo"}}, "no workflow has a state 'limbo'"),
        ({"trigger": {"event": "nocolon"}}, "kind:state"),
        ({"trigger": {"cron": "0 9 * * *", "rrule": "FREQ=DAILY"}}, "trigger must be one of"),
        ({"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
        ({"owner": "ghost"}, "unknown owner 'ghost'"),
        ({"queue": "nope"}, "unknown queue 'nope'"),
        ({"skills": ["juggling"]}, "unknown skill 'juggling'"),
        ({"estimate": "lots"}, "estimate must be a number"),
        ({"title": "{name} {weather}"}, "unknown placeholder {weather}"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_processes_are_rejected(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    data = data_with(
        [], extra={"processes": [{"key": "fine", "queue": "work"}, {**PROC, **change}]}
    )
    _fresh_rejects(tmp_path, data, "test.toml: processes[1] (p): ", reason)


def test_bad_file_leaves_an_existing_database_untouched(tmp_path: Path) -> None:
    db = make_db(tmp_path, data_with([{"type": "move", "queue": "qa"}]))
    before = (count(db, models.Event.__table__), count(db, models.Person.__table__))
    bad = data_with([{"type": "move", "queue": "nope"}])
    bad["people"].append({"handle": "newbie"})
    with pytest.raises(LoadError, match="unknown queue 'nope'"):
        loader.load_data(db, bad, source="test.toml")
    assert (count(db, models.Event.__table__), count(db, models.Person.__table__)) == before


def test_cli_load_reports_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        tomli_w.dumps(data_with([{"type": "assign", "rule": "person", "person": "ghost"}]))
    )
    env = {
        **os.environ,
        "OPSTUI_CONFIG": str(tmp_path / "none.toml"),
        "OPSTUI_STATE": str(tmp_path / "state"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "opstui", "--db", str(tmp_path / "x.db"), "init"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "opstui", "--db", str(tmp_path / "x.db"), "load", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "opstui: bad.toml: workflow 'flow' transition doing -> ready actions[0] (assign): "
        "assign: unknown person 'ghost'"
    )
    assert "Traceback" not in out.stderr
