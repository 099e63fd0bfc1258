"""The monthly single-point-of-failure audit on the sample shop: one item per active person
(their single points computed here independently, from the raw tables), exactly once per
person and month (twice, from two terminals, through run-due), answers applied as skills
and runbook steps, and the review's remaining-risk count dropping."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from opstui.domain import audit as dom
from opstui.domain.capacity import PersonIn, ProcessIn
from opstui.errors import ValidationError
from opstui.services import audit_apply
from opstui.services import items as items_svc
from opstui.services import people as people_svc
from opstui.services import review as rsvc
from opstui.services.loading import load_data
from opstui.services.processes import audit as svc
from opstui.services.processes import run as run_svc
from opstui.services.processes.catalog import process_catalog
from opstui.store import queries as q
from opstui.store.schema import open_database
from tests.conftest import ANCHOR, run_cli

AUDIT = {
    "processes": [
        {
            "key": "spof-audit",
            "name": "Monthly single-point-of-failure audit",
            "owner": "dana",
            "queue": "projects",
            "timezone": "Europe/London",
            "trigger": {"cron": "0 9 1 * *"},
            "runbook": "1. Everyone answers their item\n2. Apply the answers",
        }
    ]
}


def expected_points(db: Any) -> dict[str, tuple[set[str], set[str]]]:
    """Each active person's sole skills and sole processes, straight from the tables (not
    through the bus-factor code): a skill only they have among the active people; a
    process only they can cover (the owner when it names no skills, else whoever has
    all of its skills, plus an active owner)."""
    with db.read() as conn:
        people = {h: bool(a) for h, a in conn.execute(text("SELECT handle, active FROM person"))}
        skills: dict[str, set[str]] = {h: set() for h in people}
        for h, s in conn.execute(
            text("SELECT p.handle, s.skill FROM person_skill s JOIN person p ON p.id = s.person_id")
        ):
            skills[h].add(s)
        procs = list(
            conn.execute(
                text(
                    "SELECT pr.key, pr.skills, p.handle FROM process pr "
                    "LEFT JOIN person p ON p.id = pr.owner_id WHERE pr.active = TRUE"
                )
            )
        )
    active = {h for h, a in people.items() if a}
    out: dict[str, tuple[set[str], set[str]]] = {h: (set(), set()) for h in active}
    every = {s for h in active for s in skills[h]}
    for s in every:
        holders = [h for h in active if s in skills[h]]
        if len(holders) == 1:
            out[holders[0]][0].add(s)
    for key, needs, owner in procs:
        needs = set(json.loads(needs) if isinstance(needs, str) else (needs or []))
        able = {h for h in active if needs and needs <= skills[h]}
        if owner in active:
            able.add(owner)
        if len(able) == 1:
            out[next(iter(able))][1].add(key)
    return out


def audit_items(db: Any) -> list[Any]:
    with db.read() as conn:
        return q.list_items(conn, q.ItemFilter(kind="audit"), limit=None, newest_first=False)


@pytest.mark.both_engines
def test_one_item_per_active_person_listing_their_single_points_once(sample_db: Any) -> None:
    load_data(sample_db, AUDIT, source="audit")
    people_svc.edit_person(sample_db, "jon", active=False)  # kim is left with qa, testing
    expected = expected_points(sample_db)
    assert expected["kim"][0] == {"qa", "testing"}
    assert expected["dev"] == ({"firewall"}, {"firewall-review"})

    done = svc.run_audit(sample_db)
    assert done.month == "2026-12"
    active = sorted(expected)
    assert "jon" not in active and len(active) == 11
    assert sorted(r.owner for r in done.results) == active
    made = {i.owner: i for i in audit_items(sample_db)}
    assert sorted(made) == active
    for handle, (skills, procs) in expected.items():
        item = made[handle]
        assert item.queue == "projects" and item.title == f"SPOF audit 2026-12: {handle}"
        audit = item.data["audit"]
        assert (set(audit["skills"]), set(audit["processes"])) == (skills, procs), handle
        for name in skills | procs:
            assert f"- {name}\n" in item.body + "\n"
        assert dom.QUESTION in item.body

    # again, and from two terminals at once: nothing new
    assert svc.run_audit(sample_db).results == ()
    others = [open_database(sample_db.target, clock=sample_db.clock) for _ in range(2)]
    got: list[int] = []

    def run(d: Any) -> None:
        got.append(len(svc.run_audit(d).results))

    threads = [threading.Thread(target=run, args=(d,)) for d in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in others:
        d.dispose()
    assert got == [0, 0]
    # the month's scheduled occurrence counts as run: run-due creates no second audit,
    # and `processes` agrees on the next run
    assert not [r for r in run_svc.run_due(sample_db) if r.process == "spof-audit"]
    entry = next(p for p in process_catalog(sample_db).processes if p.key == "spof-audit")
    assert entry.next_run == datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert len(audit_items(sample_db)) == 11
    # a person who becomes active gets their item in the next run of the month
    people_svc.edit_person(sample_db, "jon", active=True)
    assert [r.owner for r in svc.run_audit(sample_db).results] == ["jon"]


def test_a_scheduled_audit_runs_through_run_due_once(sample_db: Any) -> None:
    load_data(sample_db, AUDIT, source="audit")
    created = [r for r in run_svc.run_due(sample_db) if r.process == "spof-audit"]
    # one line for the month (the dashboard's notice), late: due 1 Dec, created 4 Dec
    assert len(created) == 1 and created[0].late
    assert "12 audit items" in created[0].text and "2026-12" in created[0].text
    assert len(audit_items(sample_db)) == 12
    assert all(i.data.get("late") for i in audit_items(sample_db))
    assert svc.run_audit(sample_db).results == ()
    assert run_svc.run_due(sample_db) == []
    rv = rsvc.weekly_review(sample_db)
    assert [r.process for r in rv.late_runs].count("spof-audit") == 1


def answer(db: Any, who: str, key: str, body: str) -> None:
    person = open_database(db.target, clock=db.clock, unix_user=who)
    try:
        items_svc.comment(person, key, body)
    finally:
        person.dispose()


def test_answers_land_as_skills_and_runbook_steps_and_the_risks_drop(sample_db: Any) -> None:
    load_data(sample_db, AUDIT, source="audit")
    svc.run_audit(sample_db)
    before = rsvc.weekly_review(sample_db)
    assert before.audit is not None and before.audit.answered == 0
    assert ("dev", "skill", "firewall") in before.audit.rows()
    key = next(i.key for i in audit_items(sample_db) if i.owner == "dev")
    answer(
        sample_db,
        "dev",
        key,
        "Only me, I think.\n"
        "skill: firewall -> alice\n"
        "- runbook: firewall-review: Rules live in the fwctl repo; export with fwctl export\n"
        "skill: postgres -> bob, carol",
    )
    mid = svc.audit_status(sample_db)
    assert mid.answered == 1 and "dev" not in mid.not_answered and mid.applied == 0

    done = audit_apply.apply_answers(sample_db, key)
    assert done.changes == (
        "alice has the skill firewall",
        "runbook of firewall-review: Rules live in the fwctl repo; export with fwctl export",
        "dev has the skill postgres (said so)",
        "bob has the skill postgres",
        "carol has the skill postgres",
    )
    with sample_db.read() as conn:
        alice = q.get_person(conn, "alice")
        runbook = conn.execute(
            text("SELECT runbook FROM process WHERE key = 'firewall-review'")
        ).scalar_one()
    assert alice is not None and "firewall" in alice.skills
    assert runbook.endswith("\n4. Rules live in the fwctl repo; export with fwctl export")

    after = rsvc.weekly_review(sample_db)
    assert after.audit is not None
    # firewall and firewall-review (alice has its one skill now) are covered
    assert after.audit.remaining == before.audit.remaining - 2
    assert not [r for r in after.audit.rows() if r[0] == "dev"]
    assert after.audit.applied == 1
    md = rsvc.to_markdown(after)
    section = md.split("## Single-point audit (2026-12)", 1)[1].split("## ", 1)[0]
    assert "1 of 12 answered" in section and "| dev |" not in section
    line = next(x for x in rsvc.agenda.agenda(after) if x.key == "audit")
    assert line.count == after.audit.remaining and line.tab == "risks"
    assert rsvc.to_json(after)["audit"]["remaining"] == after.audit.remaining

    # twice: nothing changes, nothing is recorded again
    again = audit_apply.apply_answers(sample_db, key)
    assert again.changes == () and len(again.unchanged) == 4


def test_a_bad_answer_applies_nothing(sample_db: Any) -> None:
    load_data(sample_db, AUDIT, source="audit")
    svc.run_audit(sample_db)
    key = next(i.key for i in audit_items(sample_db) if i.owner == "dev")
    with pytest.raises(ValidationError, match="no answer lines yet"):
        audit_apply.apply_answers(sample_db, key)
    answer(sample_db, "dev", key, "skill: firewall -> alice\nskill: firewall -> zed")
    with pytest.raises(ValidationError, match=rf"{key}: comment 1, line 2: unknown person 'zed'"):
        audit_apply.apply_answers(sample_db, key)
    answer(sample_db, "dev", key, "runbook: firewall review")
    with pytest.raises(ValidationError, match="comment 2, line 1: write 'runbook: PROCESS: TEXT'"):
        audit_apply.apply_answers(sample_db, key)
    with sample_db.read() as conn:
        alice = q.get_person(conn, "alice")
    assert alice is not None and "firewall" not in alice.skills
    with pytest.raises(ValidationError, match="is not an audit item"):
        audit_apply.apply_answers(sample_db, "PRJ-1")
    with pytest.raises(ValidationError, match="has not started"):
        svc.run_audit(sample_db, month="2027-01")
    with pytest.raises(ValidationError, match="a month looks like 2026-12"):
        svc.run_audit(sample_db, month="12")


def test_single_points_include_queues_only_one_person_worked_in() -> None:
    people = [
        PersonIn("ann", "Ann", 40, skills=("pg", "dns")),
        PersonIn("ben", "Ben", 40, skills=("dns",)),
        PersonIn("cy", "Cy", 40, active=False, skills=("pg",)),
    ]
    procs = [ProcessIn("restore", "Restore", "ben"), ProcessIn("dns-check", "DNS", "cy", ("dns",))]
    touch = {"db": {"ann"}, "net": {"ann", "ben"}, "old": {"cy", "ben"}}
    got = dom.single_points(people, procs, touch)
    assert got["ann"] == dom.SinglePoints("ann", ("pg",), (), ("db",))
    # an inactive person does not cover anything, but their past work keeps a queue shared
    assert got["ben"] == dom.SinglePoints("ben", (), ("restore",), ())
    assert "cy" not in got
    assert dom.runbook_with("1. a\n2. b", "c") == "1. a\n2. b\n3. c"
    assert dom.runbook_with("1. a\n2. c", "c") is None


def test_cli_run_status_apply(sample_db_file: Path, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "s.db"
    shutil.copy(sample_db_file, path)
    now = ("--now", (ANCHOR + timedelta(minutes=5)).isoformat())
    r = run_cli(*now, "audit", "run", db=path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "spof-audit" in r.stderr
    r = run_cli(*now, "audit", "run", "--queue", "projects", db=path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("defined the process spof-audit (queue projects")
    assert r.stdout.count("audit 2026-12 for") == 12
    r = run_cli(*now, "audit", "run", db=path)
    assert r.stdout.strip() == "audit 2026-12: every active person already has an item"
    r = run_cli(*now, "audit", "status", "--json", db=path)
    st = json.loads(r.stdout)
    assert st["asked"] == 12 and st["answered"] == 0
    dev = next(i["key"] for i in st["items"] if i["person"] == "dev")
    run_cli(*now, "comment", dev, "skill: firewall -> alice", db=path, env={"USER": "dev"})
    r = run_cli(*now, "audit", "apply", dev, "--dry-run", db=path)
    assert r.stdout.splitlines() == ["would apply: alice has the skill firewall"]
    r = run_cli(*now, "audit", "apply", dev, db=path)
    assert r.stdout.splitlines() == ["applied: alice has the skill firewall"]
    r = run_cli(*now, "audit", "status", db=path)
    assert "1 of 12 answered" in r.stdout and f"{dev:<10} dev          applied" in r.stdout
    # --all: every answered item not applied yet, each on its own; a bad one exits 1
    bob = next(i["key"] for i in st["items"] if i["person"] == "bob")
    kim = next(i["key"] for i in st["items"] if i["person"] == "kim")
    run_cli(*now, "comment", bob, "skill: m365 -> zed", db=path, env={"USER": "bob"})
    run_cli(*now, "comment", kim, "Nothing only I do.", db=path, env={"USER": "kim"})
    r = run_cli(*now, "audit", "apply", "--all", db=path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [f"{kim}: no answer lines (free text only): nothing to apply"]
    assert r.stderr.splitlines() == [f"{bob}: refused: comment 1, line 1: unknown person 'zed'"]
    r = run_cli(*now, "audit", "apply", db=path)
    assert r.returncode == 2 and "give one audit item KEY, or --all" in r.stderr
    r = run_cli(*now, "audit", "run", "--month", "2026-13", db=path)
    assert r.returncode == 1 and "a month looks like 2026-12" in r.stderr
    assert "Traceback" not in r.stderr
