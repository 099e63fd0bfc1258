"""The sample data's automation: the contract-signed chain and the "ready for QA" hand-off."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opstui.domain import models
from opstui.services import approvals, transitions
from opstui.store import queries as q
from opstui.store.engine import Database
from tests._automation_support import NOW, snapshot

pytestmark = pytest.mark.both_engines

ITEM = models.Item.__table__
EVENT = models.Event.__table__
LINK = models.ItemLink.__table__
PERSON = models.Person.__table__
SKILL = models.PersonSkill.__table__


@pytest.fixture
def shop(sample_db: Database) -> Database:
    """The bundled sample data (conftest loads it once per session), a private copy."""
    return sample_db


def _open_load(db: Database, handles: list[str]) -> dict[str, float]:
    with db.read() as conn:
        rows = conn.execute(
            select(
                PERSON.c.handle,
                func.coalesce(func.sum(func.coalesce(ITEM.c.estimate_hours, 2.0)), 0),
            )
            .select_from(
                PERSON.outerjoin(
                    ITEM, (ITEM.c.owner_id == PERSON.c.id) & (ITEM.c.category != "done")
                )
            )
            .where(PERSON.c.handle.in_(handles))
            .group_by(PERSON.c.handle)
        ).all()
    return {h: float(v) for h, v in rows}


def _lead_in_proposal(db: Database) -> str:
    """The sample data has leads waiting in "proposal", ready for the demo's chain."""
    with db.read() as conn:
        leads = q.list_items(conn, q.ItemFilter(queue="sales", status="proposal"))
    assert len(leads) >= 2
    return leads[0].key


def test_contract_signed_runs_the_whole_chain(shop: Database) -> None:
    key = _lead_in_proposal(shop)
    with shop.read() as conn:
        pm = sorted(
            r[0]
            for r in conn.execute(
                select(PERSON.c.handle)
                .join(SKILL, SKILL.c.person_id == PERSON.c.id)
                .where(SKILL.c.skill == "project-management", PERSON.c.active.is_(True))
            )
        )
        cursor = q.last_event_id(conn)
    loads = _open_load(shop, pm)
    expected_pm = min(pm, key=lambda h: (loads[h], h))

    lead, done = transitions.transition(shop, key, "contract_signed")

    assert lead.status == "contract_signed"
    by_type = [(d["type"], d["depth"]) for d in done]
    assert by_type == [
        ("follow_up", 0),  # project created (owner: projects' triage owner, hiro)
        ("transition", 1),  # ... moved on to resourcing
        ("assign", 1),  # resource assigned: least loaded project manager
        ("follow_up", 1),  # kickoff item in onboarding
        ("process", 1),  # event-triggered client onboarding checklist
        ("notify", 0),  # projects' triage owner told
    ]
    with shop.read() as conn:
        project = q.get_item(conn, done[0]["item"])
        kickoff = q.get_item(conn, done[3]["item"])
        checklist = q.get_item(conn, done[4]["item"])
        links = set(conn.execute(select(LINK.c.src_id, LINK.c.dst_id, LINK.c.kind)).all())
        events = q.events_after(conn, cursor)
    assert project.queue == "projects" and project.kind == "project"
    assert project.title == f"Project: {lead.title}"
    assert project.status == "resourcing" and project.owner == expected_pm
    assert project.priority == 2 and project.estimate_hours == 24
    assert kickoff.queue == "onboarding" and kickoff.kind == "kickoff" and kickoff.owner == "kim"
    assert kickoff.title == f"Kickoff email: {project.title}"
    assert checklist.owner == "kim" and checklist.data["process"] == "client-onboarding"
    assert (lead.id, project.id, "followup") in links and (
        project.id,
        kickoff.id,
        "followup",
    ) in links
    # one transaction: every event of the chain carries the same timestamp and actor
    assert {e.ts for e in events} == {NOW} and {e.unix_user for e in events} == {"tester"}
    assert any(e.field == "notify" and e.new == f"hiro: New project from {key}" for e in events)


def test_chain_is_all_or_nothing(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    key = _lead_in_proposal(shop)
    before = snapshot(shop)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    # fail at the very last action, after the project and kickoff were created
    monkeypatch.setattr(transitions, "_act_notify", boom)
    with pytest.raises(RuntimeError):
        transitions.transition(shop, key, "contract_signed")
    assert snapshot(shop) == before


def test_ready_for_qa_moves_to_qa_and_tells_jon(shop: Database) -> None:
    with shop.read() as conn:
        item = q.list_items(
            conn, q.ItemFilter(queue="projects", status="in_progress", owner="ines"), limit=1
        )[0]
        cursor = q.last_event_id(conn)
    moved, done = transitions.transition(shop, item.key, "ready_for_qa")
    assert (moved.queue, moved.owner, moved.status) == ("qa", "jon", "ready_for_qa")
    assert [d["type"] for d in done] == ["move", "assign", "notify"]
    with shop.read() as conn:
        events = [
            e for e in q.events_after(conn, cursor) if e.field in ("queue", "owner", "notify")
        ]
    assert [(e.field, e.old, e.new) for e in events] == [
        ("queue", "projects", "qa"),
        ("owner", "ines", "jon"),
        ("notify", None, f"jon: {item.key} is ready for QA"),
    ]
    # QA failed: back to projects (the owner stays jon until someone picks it up)
    back, done = transitions.transition(shop, item.key, "in_progress")
    assert back.queue == "projects" and [d["type"] for d in done] == ["move"]


def test_refund_needs_approval(shop: Database) -> None:
    pending = approvals.list_approvals(shop)
    assert len(pending) == 3  # loaded with the sample data
    key = pending[0].item_key
    item, results = approvals.approve(shop, key, "checked the hours")
    assert item.status == "refunded"
